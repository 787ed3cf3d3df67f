package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	if c != want {
		t.Fatalf("got %+v, want defaults %+v", c, want)
	}
	if c.HTTPAddr != "127.0.0.1:8080" || c.SendConcurrency != 8 || c.SendRate != 0 ||
		c.TokenTTL != 24*time.Hour || c.SchedulerGrace != time.Hour || c.SendFailurePauseRatio != 0.5 ||
		c.ShutdownTimeout != 15*time.Second || c.BusTopicPrefix != "herald." || c.BusMaxLen != 1_000_000 ||
		c.LogLevel != "info" || c.LogFormat != "json" {
		t.Fatalf("defaults differ from API.md/.env.sample: %+v", c)
	}
}

func TestParseEverything(t *testing.T) {
	c, err := Parse(env(map[string]string{
		"DATABASE_URL":             pgURL,
		"REDIS_URL":                redisURL,
		"HTTP_ADDR":                ":9090",
		"SMTP_URL":                 "smtp://bob:p%40ss@mail.example.com:2525?starttls=required",
		"MAIL_FROM":                "Herald <herald@example.com>",
		"PUBLIC_BASE_URL":          "https://herald.example.com/",
		"LOG_LEVEL":                "DEBUG",
		"LOG_FORMAT":               "console",
		"SEND_CONCURRENCY":         " 16 ",
		"SEND_RATE":                "2.5",
		"SEND_FAILURE_PAUSE_RATIO": "1",
		"TOKEN_TTL":                "2h",
		"SCHEDULER_GRACE":          "10m",
		"SEND_STALL_AFTER":         "5m",
		"SHUTDOWN_TIMEOUT":         "3s",
		"BUS_TOPIC_PREFIX":         "t1.",
		"BUS_MAXLEN":               "5000",
	}), NeedDatabase, NeedRedis, NeedSMTP, NeedPublicURL)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		DatabaseURL: pgURL, RedisURL: redisURL, HTTPAddr: ":9090",
		SMTP:          SMTP{Host: "mail.example.com", Port: 2525, Username: "bob", Password: "p@ss", TLS: StartTLSRequired},
		MailFrom:      "Herald <herald@example.com>",
		PublicBaseURL: "https://herald.example.com",
		LogLevel:      "debug", LogFormat: "console",
		SendConcurrency: 16, SendRate: 2.5, SendFailurePauseRatio: 1,
		TokenTTL: 2 * time.Hour, SchedulerGrace: 10 * time.Minute, SendStallAfter: 5 * time.Minute, ShutdownTimeout: 3 * time.Second,
		BusTopicPrefix: "t1.", BusMaxLen: 5000,
	}
	if c != want {
		t.Fatalf("got  %+v\nwant %+v", c, want)
	}
	if s := c.SMTP.String(); strings.Contains(s, "p@ss") || !strings.Contains(s, "mail.example.com:2525") {
		t.Fatalf("SMTP.String() = %q: must name the server and hide the password", s)
	}
}

func TestParseSMTP(t *testing.T) {
	tests := []struct {
		url  string
		want SMTP
		err  string
	}{
		{"smtp://127.0.0.1:2525", SMTP{Host: "127.0.0.1", Port: 2525, TLS: StartTLSOpportunistic}, ""},
		{"smtp://mail.example.com", SMTP{Host: "mail.example.com", Port: 587, TLS: StartTLSOpportunistic}, ""},
		{"smtps://u:p@mail.example.com", SMTP{Host: "mail.example.com", Port: 465, Username: "u", Password: "p", TLS: ImplicitTLS}, ""},
		{"smtp://h:25?starttls=none", SMTP{Host: "h", Port: 25, TLS: NoTLS}, ""},
		{"smtps://h?starttls=required", SMTP{}, "does not apply to smtps"},
		{"smtp://h?starttls=maybe", SMTP{}, "starttls must be"},
		{"smtp://h?tls=1", SMTP{}, "unknown parameter"},
		{"http://h", SMTP{}, "scheme must be smtp or smtps"},
		{"smtp://:25", SMTP{}, "must name a host"},
		{"smtp://h:99999", SMTP{}, "port must be"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			got, err := parseSMTP(tt.url)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
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
		{"ratio zero", map[string]string{"SEND_FAILURE_PAUSE_RATIO": "0"}, nil, `config: SEND_FAILURE_PAUSE_RATIO: must be a number greater than 0 and at most 1, got "0"`},
		{"ratio above one", map[string]string{"SEND_FAILURE_PAUSE_RATIO": "1.5"}, nil, `config: SEND_FAILURE_PAUSE_RATIO: must be a number greater than 0 and at most 1, got "1.5"`},
		{"ttl without unit", map[string]string{"TOKEN_TTL": "24"}, nil, `config: TOKEN_TTL: must be a positive duration such as 30s, 15m or 24h, got "24"`},
		{"negative timeout", map[string]string{"SHUTDOWN_TIMEOUT": "-1s"}, nil, `config: SHUTDOWN_TIMEOUT: must be a positive duration such as 30s, 15m or 24h, got "-1s"`},
		{"maxlen", map[string]string{"BUS_MAXLEN": "1e6"}, nil, `config: BUS_MAXLEN: must be a positive integer, got "1e6"`},
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
			`config: DATABASE_URL: required, not set; config: SMTP_URL: starttls must be required, opportunistic or none, got "yes"`},
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
