package config

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/testca"
	"github.com/heraldmail/herald/mail"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

const (
	pgURL    = "postgres://herald:secret@127.0.0.1:5432/herald?sslmode=disable"
	redisURL = "redis://127.0.0.1:6379/0"
)

func TestParseDefaults(t *testing.T) {
	c, err := Parse(env(nil))
	if err != nil {
		t.Fatalf("no needs, empty environment: %v", err)
	}
	want := Defaults()
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got %+v, want defaults %+v", c, want)
	}
	if c.HTTPAddr != "127.0.0.1:8080" || c.SendConcurrency != 8 || c.SendRate != 0 || c.SendConnections != 0 ||
		c.TokenTTL != 24*time.Hour || c.SessionIdleTimeout != 2*time.Hour || c.SchedulerGrace != time.Hour || c.SendFailurePauseRatio != 0.5 ||
		c.LoginAccountLimit != 5 || c.LoginAddrLimit != 20 || c.AccountMailAddrLimit != 10 ||
		c.ShutdownTimeout != 15*time.Second || c.BusTopicPrefix != "herald." || c.BusMaxLen != 1_000_000 || c.MemoryTargetMiB != 36 ||
		c.LogLevel != "info" || c.LogFormat != "json" || c.SMTPHELOName != "" || c.SMTPRootCAs != nil ||
		!slices.Equal(c.SendRetrySchedule, []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour}) {
		t.Fatalf("defaults differ from .env.sample: %+v", c)
	}
	// Each call hands out its own schedule: a caller changing it changes no other.
	Defaults().SendRetrySchedule[0] = time.Hour
	if Defaults().SendRetrySchedule[0] != time.Minute {
		t.Fatal("Defaults shares its retry schedule")
	}
}

func TestParseEverything(t *testing.T) {
	c, err := Parse(env(map[string]string{
		"DATABASE_URL":              pgURL,
		"REDIS_URL":                 redisURL,
		"HTTP_ADDR":                 ":9090",
		"SMTP_URL":                  "smtp://bob:p%40ss@mail.example.com:2525?starttls=required&auth=plain",
		"MAIL_FROM":                 "Herald <herald@example.com>",
		"SMTP_HELO_NAME":            "mta.example.com",
		"SEND_RETRY_SCHEDULE":       " 30s, 2m,1h ",
		"PUBLIC_BASE_URL":           "https://herald.example.com/",
		"LOG_LEVEL":                 "DEBUG",
		"LOG_FORMAT":                "console",
		"SEND_CONCURRENCY":          " 16 ",
		"SEND_RATE":                 "2.5",
		"SEND_CONNECTIONS":          "6",
		"SEND_FAILURE_PAUSE_RATIO":  "1",
		"TOKEN_TTL":                 "2h",
		"SESSION_IDLE_TIMEOUT":      "30m",
		"SCHEDULER_GRACE":           "10m",
		"SEND_STALL_AFTER":          "5m",
		"SHUTDOWN_TIMEOUT":          "3s",
		"BUS_TOPIC_PREFIX":          "t1.",
		"BUS_MAXLEN":                "5000",
		"MEMORY_TARGET_MIB":         "0",
		"UNSUBSCRIBE_SECRET":        "0123456789abcdef0123456789abcdef",
		"SUPPRESS_AFTER_NO_MAILBOX": "2",
		"SUPPRESS_AFTER_BOUNCES":    "5",
		"LOGIN_ACCOUNT_LIMIT":       "3",
		"LOGIN_ADDR_LIMIT":          "50",
		"ACCOUNT_MAIL_ADDR_LIMIT":   "4",
	}), NeedDatabase, NeedRedis, NeedSMTP, NeedPublicURL, NeedUnsubscribe)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		DatabaseURL: pgURL, RedisURL: redisURL, HTTPAddr: ":9090",
		SMTP:              mail.Endpoint{Host: "mail.example.com", Port: 2525, Username: "bob", Password: "p@ss", TLS: mail.STARTTLSRequired, Auth: "PLAIN"},
		MailFrom:          "Herald <herald@example.com>",
		SMTPHELOName:      "mta.example.com",
		SendRetrySchedule: []time.Duration{30 * time.Second, 2 * time.Minute, time.Hour},
		PublicBaseURL:     "https://herald.example.com", WebCookieSecure: true,
		LogLevel: "debug", LogFormat: "console",
		SendConcurrency: 16, SendRate: 2.5, SendConnections: 6, SendFailurePauseRatio: 1,
		TokenTTL: 2 * time.Hour, SessionIdleTimeout: 30 * time.Minute, SchedulerGrace: 10 * time.Minute, SendStallAfter: 5 * time.Minute, ShutdownTimeout: 3 * time.Second,
		BusTopicPrefix: "t1.", BusMaxLen: 5000,
		UnsubscribeSecret: "0123456789abcdef0123456789abcdef", SuppressAfterNoMailbox: 2, SuppressAfterBounces: 5,
		LoginAccountLimit: 3, LoginAddrLimit: 50, AccountMailAddrLimit: 4,
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got  %+v\nwant %+v", c, want)
	}
	if s := c.SMTP.String(); strings.Contains(s, "p@ss") || strings.Contains(s, "p%40ss") || !strings.Contains(s, "mail.example.com:2525") {
		t.Fatalf("SMTP.String() = %q: must name the server and hide the password", s)
	}
}

// SMTP_URL is parsed by mail.ParseURL, the one parser (its syntax is
// tested in mail): what it accepts the configuration accepts, with the same
// defaults, and its errors come back naming the variable.
func TestParseSMTP(t *testing.T) {
	for _, url := range []string{
		"smtp://127.0.0.1:2525",
		"smtp://mail.example.com",
		"smtps://u:p@mail.example.com",
		"smtp://h:25?starttls=off",
		"smtp://u:p@h?auth=XOAUTH2&starttls=required",
		"smtps://h?starttls=required",
		"smtp://h?starttls=maybe",
		"smtp://h?auth=plain",
		"http://h",
		"smtp://h:99999",
	} {
		t.Run(url, func(t *testing.T) {
			want, wantErr := mail.ParseURL(url)
			c, err := Parse(env(map[string]string{"SMTP_URL": url}))
			if wantErr != nil {
				if err == nil || err.Error() != "config: SMTP_URL: "+wantErr.Error() {
					t.Fatalf("err = %v, want config: SMTP_URL: %v", err, wantErr)
				}
				return
			}
			if err != nil || c.SMTP != want {
				t.Fatalf("got %+v, %v; want %+v", c.SMTP, err, want)
			}
		})
	}
}

func TestParseHELOName(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		needs []Need
		want  string // SMTPHELOName, or the whole error
		err   bool
	}{
		{"explicit", map[string]string{"SMTP_URL": "smtp://h", "SMTP_HELO_NAME": "mta.example.com", "MAIL_FROM": "herald@localhost"}, []Need{NeedSMTP}, "mta.example.com", false},
		{"address literal", map[string]string{"SMTP_HELO_NAME": "[192.0.2.1]"}, nil, "[192.0.2.1]", false},
		{"IPv6 literal", map[string]string{"SMTP_HELO_NAME": "[IPv6:2001:db8::1]"}, nil, "[IPv6:2001:db8::1]", false},
		{"from MAIL_FROM", map[string]string{"MAIL_FROM": "Herald <herald@news.example.com>"}, nil, "news.example.com", false},
		{"bare MAIL_FROM domain, mail not needed", map[string]string{"MAIL_FROM": "herald@localhost", "DATABASE_URL": pgURL}, []Need{NeedDatabase}, "", false},
		{"explicit bare", map[string]string{"SMTP_HELO_NAME": "vm"}, nil,
			`config: SMTP_HELO_NAME: "vm" is not a fully qualified domain name such as mail.example.com`, true},
		{"explicit bad literal", map[string]string{"SMTP_HELO_NAME": "[192.0.2.999]"}, nil,
			`config: SMTP_HELO_NAME: "[192.0.2.999]" is not an address literal such as [192.0.2.1] or [IPv6:2001:db8::1]`, true},
		{"bare MAIL_FROM domain, mail needed", map[string]string{"SMTP_URL": "smtp://h", "MAIL_FROM": "Herald <herald@localhost>"}, []Need{NeedSMTP},
			`config: SMTP_HELO_NAME: not set, and MAIL_FROM's domain "localhost" is not a fully qualified domain name: set SMTP_HELO_NAME or use a fully qualified MAIL_FROM`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(env(tt.env), tt.needs...)
			if tt.err {
				if err == nil || err.Error() != tt.want {
					t.Fatalf("err = %v\nwant %s", err, tt.want)
				}
				return
			}
			if err != nil || c.SMTPHELOName != tt.want {
				t.Fatalf("SMTPHELOName = %q, %v; want %q", c.SMTPHELOName, err, tt.want)
			}
		})
	}
}

func TestParseCAFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(good, testCA(t), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Parse(env(map[string]string{"SMTP_TLS_CA_FILE": good}))
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTPRootCAs == nil {
		t.Fatal("no pool")
	}
	sys, err := x509.SystemCertPool()
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTPRootCAs.Equal(sys) {
		t.Fatal("the pool lacks the file's certificate")
	}

	empty := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(empty, []byte("# nothing here\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ file, want string }{
		{filepath.Join(dir, "missing.pem"), "config: SMTP_TLS_CA_FILE: read CA file: open " + filepath.Join(dir, "missing.pem")},
		{empty, "config: SMTP_TLS_CA_FILE: CA file " + empty + " holds no PEM certificate"},
		{dir, "config: SMTP_TLS_CA_FILE: read CA file: read " + dir},
	} {
		// A set but broken file is refused whatever the sub-command needs.
		_, err := Parse(env(map[string]string{"SMTP_TLS_CA_FILE": tt.file}), NeedDatabase)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.file, err, tt.want)
		}
	}
}

func TestParseRetrySchedule(t *testing.T) {
	c, err := Parse(env(map[string]string{"SEND_RETRY_SCHEDULE": "1m"}))
	if err != nil || !slices.Equal(c.SendRetrySchedule, []time.Duration{time.Minute}) {
		t.Fatalf("one step: %v, %v", c.SendRetrySchedule, err)
	}
	for _, tt := range []struct{ v, want string }{
		{"1m,5m,5m", "config: SEND_RETRY_SCHEDULE: must be strictly increasing (each the delay after the first attempt); 5m0s does not follow 5m0s"},
		{"1h,30m", "config: SEND_RETRY_SCHEDULE: must be strictly increasing (each the delay after the first attempt); 30m0s does not follow 1h0m0s"},
		{"1m,,5m", `config: SEND_RETRY_SCHEDULE: must be comma-separated positive durations such as 1m,5m,15m,1h; "" is not one`},
		{"1m,5", `config: SEND_RETRY_SCHEDULE: must be comma-separated positive durations such as 1m,5m,15m,1h; "5" is not one`},
		{"0s,1m", `config: SEND_RETRY_SCHEDULE: must be comma-separated positive durations such as 1m,5m,15m,1h; "0s" is not one`},
		{"-1m", `config: SEND_RETRY_SCHEDULE: must be comma-separated positive durations such as 1m,5m,15m,1h; "-1m" is not one`},
		{"1m;5m", `config: SEND_RETRY_SCHEDULE: must be comma-separated positive durations such as 1m,5m,15m,1h; "1m;5m" is not one`},
	} {
		_, err := Parse(env(map[string]string{"SEND_RETRY_SCHEDULE": tt.v}))
		if err == nil || err.Error() != tt.want {
			t.Errorf("%q: err = %v\nwant %s", tt.v, err, tt.want)
		}
	}
}

// testCA is a CA certificate in PEM, as an operator would hand over the
// certificate of a relay's private CA.
func testCA(t *testing.T) []byte {
	t.Helper()
	ca, err := testca.New("Herald config test CA")
	if err != nil {
		t.Fatal(err)
	}
	return ca.PEM()
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		needs []Need
		want  string // the whole error text
	}{
		{"missing database", nil, []Need{NeedDatabase}, "config: DATABASE_URL: required, not set"},
		{"blank counts as missing", map[string]string{"REDIS_URL": "  "}, []Need{NeedRedis}, "config: REDIS_URL: required, not set"},
		{"smtp need wants both", nil, []Need{NeedSMTP}, "config: SMTP_URL: required, not set; config: MAIL_FROM: required, not set"},
		{"public url", nil, []Need{NeedPublicURL}, "config: PUBLIC_BASE_URL: required, not set"},
		{"concurrency not a number", map[string]string{"SEND_CONCURRENCY": "x"}, nil, `config: SEND_CONCURRENCY: must be a positive integer, got "x"`},
		{"concurrency zero", map[string]string{"SEND_CONCURRENCY": "0"}, nil, `config: SEND_CONCURRENCY: must be a positive integer, got "0"`},
		{"negative rate", map[string]string{"SEND_RATE": "-1"}, nil, `config: SEND_RATE: must be a number of messages per second, 0 or more, got "-1"`},
		{"NaN rate", map[string]string{"SEND_RATE": "NaN"}, nil, `config: SEND_RATE: must be a number of messages per second, 0 or more, got "NaN"`},
		{"negative connections", map[string]string{"SEND_CONNECTIONS": "-1"}, nil, `config: SEND_CONNECTIONS: must be an integer, 0 or more, got "-1"`},
		{"fractional connections", map[string]string{"SEND_CONNECTIONS": "2.5"}, nil, `config: SEND_CONNECTIONS: must be an integer, 0 or more, got "2.5"`},
		{"ratio zero", map[string]string{"SEND_FAILURE_PAUSE_RATIO": "0"}, nil, `config: SEND_FAILURE_PAUSE_RATIO: must be a number greater than 0 and at most 1, got "0"`},
		{"ratio above one", map[string]string{"SEND_FAILURE_PAUSE_RATIO": "1.5"}, nil, `config: SEND_FAILURE_PAUSE_RATIO: must be a number greater than 0 and at most 1, got "1.5"`},
		{"ttl without unit", map[string]string{"TOKEN_TTL": "24"}, nil, `config: TOKEN_TTL: must be a positive duration such as 30s, 15m or 24h, got "24"`},
		{"negative timeout", map[string]string{"SHUTDOWN_TIMEOUT": "-1s"}, nil, `config: SHUTDOWN_TIMEOUT: must be a positive duration such as 30s, 15m or 24h, got "-1s"`},
		{"address login limit not above the account's", map[string]string{"LOGIN_ACCOUNT_LIMIT": "8", "LOGIN_ADDR_LIMIT": "8"}, nil,
			"config: LOGIN_ADDR_LIMIT: must be more than LOGIN_ACCOUNT_LIMIT (8), got 8"},
		{"account mail limit zero", map[string]string{"ACCOUNT_MAIL_ADDR_LIMIT": "0"}, nil, `config: ACCOUNT_MAIL_ADDR_LIMIT: must be a positive integer, got "0"`},
		{"maxlen", map[string]string{"BUS_MAXLEN": "1e6"}, nil, `config: BUS_MAXLEN: must be a positive integer, got "1e6"`},
		{"memory target", map[string]string{"MEMORY_TARGET_MIB": "36MiB"}, nil, `config: MEMORY_TARGET_MIB: must be an integer, 0 or more, got "36MiB"`},
		{"log level", map[string]string{"LOG_LEVEL": "verbose"}, nil, `config: LOG_LEVEL: must be one of trace|debug|info|warn|error, got "verbose"`},
		{"log format", map[string]string{"LOG_FORMAT": "text"}, nil, `config: LOG_FORMAT: must be one of json|console, got "text"`},
		{"http addr", map[string]string{"HTTP_ADDR": "8080"}, nil, `config: HTTP_ADDR: must be host:port such as 127.0.0.1:8080, got "8080"`},
		{"http port", map[string]string{"HTTP_ADDR": "h:http"}, nil, `config: HTTP_ADDR: port must be a number from 0 to 65535, got "h:http"`},
		{"mail from", map[string]string{"MAIL_FROM": "herald"}, nil, `config: MAIL_FROM: must be an email address such as "Herald <herald@example.com>", got "herald"`},
		{"base url relative", map[string]string{"PUBLIC_BASE_URL": "herald.example.com"}, nil, `config: PUBLIC_BASE_URL: must be an absolute http(s) URL such as https://herald.example.com, got "herald.example.com"`},
		{"database scheme", map[string]string{"DATABASE_URL": "mysql://u:pw@h/db"}, nil, "config: DATABASE_URL: must be a PostgreSQL URL such as postgres://user:pass@host:5432/db"},
		{"database bad option", map[string]string{"DATABASE_URL": "postgres://u:topsecret@h/db?sslmode=sometimes"}, nil, "config: DATABASE_URL: is not a valid PostgreSQL connection URL"},
		{"redis scheme", map[string]string{"REDIS_URL": "127.0.0.1:6379"}, nil, "config: REDIS_URL: must be a Redis URL such as redis://host:6379/0"},
		{"redis db", map[string]string{"REDIS_URL": "redis://h:6379/x"}, nil, "config: REDIS_URL: is not a valid Redis URL (redis://[user:pass@]host:port/db)"},
		{"smtp malformed even when not needed", map[string]string{"SMTP_URL": "smtp://h?starttls=yes"}, []Need{NeedDatabase},
			`config: DATABASE_URL: required, not set; config: SMTP_URL: starttls must be none, opportunistic or required, got "yes"`},
		{"smtp url unparsable, password kept out", map[string]string{"SMTP_URL": "smtp://u:topsecret%zz@h"}, nil,
			"config: SMTP_URL: must be a URL such as smtp://user:pass@host:587 or smtps://host:465"},
		{"smtp bad port, password kept out", map[string]string{"SMTP_URL": "smtp://u:topsecret@h:70000"}, nil,
			`config: SMTP_URL: port must be a number from 1 to 65535, got "70000"`},
		{"smtp bad auth, password kept out", map[string]string{"SMTP_URL": "smtp://u:topsecret@h?auth=kerberos"}, nil,
			`config: SMTP_URL: auth must be one of plain|plain-noenc|login|login-noenc|cram-md5|xoauth2|ntlm|scram-sha-1|scram-sha-1-plus|scram-sha-256|scram-sha-256-plus, got "kerberos"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(env(tt.env), tt.needs...)
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if err.Error() != tt.want {
				t.Fatalf("error\n got %q\nwant %q", err.Error(), tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err.Error())
			}
			if strings.Contains(err.Error(), "topsecret") || strings.Contains(err.Error(), "pw@") {
				t.Fatalf("error leaks a password: %q", err.Error())
			}
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 || es[0].Var == "" {
				t.Fatalf("error is not Errors naming the variable: %#v", err)
			}
		})
	}
}

// The migrate sub-command needs only the database; nothing else may be demanded.
func TestParseOnlyNeeds(t *testing.T) {
	c, err := Parse(env(map[string]string{"DATABASE_URL": pgURL}), NeedDatabase)
	if err != nil {
		t.Fatalf("migrate-style load: %v", err)
	}
	if c.DatabaseURL != pgURL {
		t.Fatalf("DatabaseURL = %q", c.DatabaseURL)
	}
}

func TestLoadDotEnvEnvironmentWins(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".env")
	content := "# comment\nHERALD_CFGTEST_A=from-file\nexport HERALD_CFGTEST_B=\"quoted value\"\n"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HERALD_CFGTEST_A", "from-env")
	// t.Setenv registers restoration; B is unset so LoadDotEnv sets it: clean up.
	t.Cleanup(func() { os.Unsetenv("HERALD_CFGTEST_B") })
	if err := LoadDotEnv(path); err != nil {
		t.Fatal(err)
	}
	if got := os.Getenv("HERALD_CFGTEST_A"); got != "from-env" {
		t.Fatalf("A = %q: the environment must win over .env", got)
	}
	if got := os.Getenv("HERALD_CFGTEST_B"); got != "quoted value" {
		t.Fatalf("B = %q, want the .env value", got)
	}
	if err := LoadDotEnv(filepath.Join(dir, "missing.env")); err != nil {
		t.Fatalf("a missing .env must not be an error: %v", err)
	}
	bad := filepath.Join(dir, "bad.env")
	if err := os.WriteFile(bad, []byte("A='unterminated\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := LoadDotEnv(bad); err == nil || !strings.HasPrefix(err.Error(), "config: "+bad) {
		t.Fatalf("malformed .env: err = %v", err)
	}
}

func TestParseWebCookieSecure(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want bool
		err  bool
	}{
		{map[string]string{}, false, false},
		{map[string]string{"PUBLIC_BASE_URL": "https://herald.example.com"}, true, false},
		{map[string]string{"PUBLIC_BASE_URL": "http://127.0.0.1:8080"}, false, false},
		{map[string]string{"PUBLIC_BASE_URL": "https://herald.example.com", "WEB_COOKIE_SECURE": "false"}, false, false},
		{map[string]string{"PUBLIC_BASE_URL": "http://127.0.0.1:8080", "WEB_COOKIE_SECURE": "true"}, true, false},
		{map[string]string{"WEB_COOKIE_SECURE": "sometimes"}, false, true},
	} {
		got, err := Parse(env(c.env))
		if c.err {
			if err == nil || !strings.Contains(err.Error(), "WEB_COOKIE_SECURE") {
				t.Fatalf("%v: error %v, want one naming WEB_COOKIE_SECURE", c.env, err)
			}
			continue
		}
		if err != nil || got.WebCookieSecure != c.want {
			t.Fatalf("%v: secure %v (%v), want %v", c.env, got.WebCookieSecure, err, c.want)
		}
	}
}

func TestParseDKIM(t *testing.T) {
	dir := t.TempDir()
	_, edPEM, err := mail.GenerateDKIMKey("ed25519")
	if err != nil {
		t.Fatal(err)
	}
	edFile := filepath.Join(dir, "ed.pem")
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	rsaFile := filepath.Join(dir, "rsa1.pem") // PKCS#1, as openssl genrsa -traditional writes
	garbage := filepath.Join(dir, "garbage.pem")
	for f, b := range map[string][]byte{
		edFile:  edPEM,
		rsaFile: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}),
		garbage: []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
	} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	base := map[string]string{"MAIL_FROM": "Herald <news@mail.example.com>"}
	with := func(kv ...string) map[string]string {
		m := maps.Clone(base)
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}

	c, err := Parse(env(base))
	if err != nil || c.DKIM != nil {
		t.Fatalf("no DKIM settings: %+v, %v", c.DKIM, err)
	}
	for _, file := range []string{edFile, rsaFile} {
		c, err = Parse(env(with("DKIM_DOMAIN", "Example.com.", "DKIM_SELECTOR", "herald1", "DKIM_KEY_FILE", file)))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if c.DKIM == nil || c.DKIM.Domain != "example.com" || c.DKIM.Selector != "herald1" || c.DKIM.Key == nil || c.DKIMKeyFile != file {
			t.Fatalf("%s: DKIM %+v", file, c.DKIM)
		}
	}
	if got := settingValue(c.Settings(), "DKIM_DOMAIN") + " " + settingValue(c.Settings(), "DKIM_SELECTOR"); got != "example.com herald1" {
		t.Errorf("Settings show DKIM as %q", got)
	}

	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"domain alone", with("DKIM_DOMAIN", "example.com"),
			"config: DKIM_SELECTOR: required when DKIM_DOMAIN is set: DKIM needs the domain, the selector and the key file (or none of them, to send unsigned); " +
				"config: DKIM_KEY_FILE: required when DKIM_DOMAIN is set: DKIM needs the domain, the selector and the key file (or none of them, to send unsigned)"},
		{"no key file", with("DKIM_DOMAIN", "example.com", "DKIM_SELECTOR", "s1"),
			"config: DKIM_KEY_FILE: required when DKIM_DOMAIN and DKIM_SELECTOR are set: DKIM needs the domain, the selector and the key file (or none of them, to send unsigned)"},
		{"unaligned domain", with("DKIM_DOMAIN", "other.org", "DKIM_SELECTOR", "s1", "DKIM_KEY_FILE", edFile),
			`config: DKIM_DOMAIN: "other.org" is neither MAIL_FROM's domain "mail.example.com" nor a parent of it: receivers applying DMARC would not count the signature`},
		{"child domain", with("DKIM_DOMAIN", "x.mail.example.com", "DKIM_SELECTOR", "s1", "DKIM_KEY_FILE", edFile),
			`config: DKIM_DOMAIN: "x.mail.example.com" is neither MAIL_FROM's domain "mail.example.com" nor a parent of it: receivers applying DMARC would not count the signature`},
		{"not a domain", with("DKIM_DOMAIN", "example", "DKIM_SELECTOR", "s1", "DKIM_KEY_FILE", edFile),
			`config: DKIM_DOMAIN: must be a domain name such as example.com, got "example"`},
		{"bad selector", with("DKIM_DOMAIN", "example.com", "DKIM_SELECTOR", "s_1", "DKIM_KEY_FILE", edFile),
			`config: DKIM_SELECTOR: "s_1" is not a selector such as herald or mail2026 (letters, digits and hyphens)`},
		{"missing key file", with("DKIM_DOMAIN", "example.com", "DKIM_SELECTOR", "s1", "DKIM_KEY_FILE", filepath.Join(dir, "nope.pem")),
			"config: DKIM_KEY_FILE: read key: open " + filepath.Join(dir, "nope.pem") + ": no such file or directory"},
		{"unparsable key", with("DKIM_DOMAIN", "example.com", "DKIM_SELECTOR", "s1", "DKIM_KEY_FILE", garbage),
			"config: DKIM_KEY_FILE: " + garbage + ": parse PRIVATE KEY: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(env(tc.env))
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error\n got %q\nwant %q", err.Error(), tc.want)
			}
			if c.DKIM != nil {
				t.Fatalf("refused DKIM settings left a key: %+v", c.DKIM)
			}
		})
	}
}

func settingValue(ss []Setting, name string) string {
	for _, s := range ss {
		if s.Name == name {
			return s.Value
		}
	}
	return ""
}

func TestUnsubscribeSecretRequired(t *testing.T) {
	_, err := Parse(env(map[string]string{"PUBLIC_BASE_URL": "http://h.example"}), NeedUnsubscribe)
	if err == nil || !strings.Contains(err.Error(), "UNSUBSCRIBE_SECRET: required") {
		t.Fatalf("missing secret: %v", err)
	}
	_, err = Parse(env(map[string]string{"UNSUBSCRIBE_SECRET": "short", "PUBLIC_BASE_URL": "http://h.example"}), NeedUnsubscribe)
	if err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Fatalf("short secret: %v", err)
	}
	_, err = Parse(env(map[string]string{"UNSUBSCRIBE_SECRET": strings.Repeat("s", 32)}), NeedUnsubscribe)
	if err == nil || !strings.Contains(err.Error(), "PUBLIC_BASE_URL") {
		t.Fatalf("missing base URL: %v", err)
	}
}
