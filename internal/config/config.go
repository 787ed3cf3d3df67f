package config

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	netmail "net/mail"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/joho/godotenv"
	"github.com/redis/go-redis/v9"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/mail"
)

// Need names a group of variables a sub-command requires. Variables outside
// the needs are still parsed when set (and refused when malformed), and take
// their defaults when unset.
type Need int

const (
	// NeedDatabase requires DATABASE_URL.
	NeedDatabase Need = iota + 1
	// NeedRedis requires REDIS_URL.
	NeedRedis
	// NeedSMTP requires SMTP_URL and MAIL_FROM (sending mail), and an EHLO
	// name: SMTP_HELO_NAME or a fully qualified MAIL_FROM domain.
	NeedSMTP
	// NeedPublicURL requires PUBLIC_BASE_URL (links in emails).
	NeedPublicURL
	// NeedUnsubscribe requires UNSUBSCRIBE_SECRET (signing and checking
	// the unsubscribe links of mailings) and PUBLIC_BASE_URL (their base).
	NeedUnsubscribe
)

// Config is every setting, parsed. Zero values mean "not set and not
// needed" for the URL fields; the others hold their defaults.
type Config struct {
	DatabaseURL string // DATABASE_URL
	RedisURL    string // REDIS_URL
	HTTPAddr    string // HTTP_ADDR, default 127.0.0.1:8080
	// DebugAddr is DEBUG_ADDR: where Go's profiler (net/http/pprof) listens;
	// empty (the default) serves none.
	DebugAddr     string
	SMTP          mail.Endpoint // SMTP_URL, parsed by mail.ParseURL; zero when unset
	MailFrom      string        // MAIL_FROM, an RFC 5322 address ("Herald <herald@example.com>")
	PublicBaseURL string        // PUBLIC_BASE_URL, absolute http(s) URL without a trailing slash
	LogLevel      string        // LOG_LEVEL: trace|debug|info|warn|error, default info
	LogFormat     string        // LOG_FORMAT: json|console, default json
	// WebCookieSecure is WEB_COOKIE_SECURE: the web session cookie is sent
	// over HTTPS only. Unset, it follows PUBLIC_BASE_URL's scheme.
	WebCookieSecure bool
	// UnsubscribeSecret is UNSUBSCRIBE_SECRET, the key of the unsubscribe
	// links' signatures: at least 32 characters; changing it breaks every
	// link already mailed.
	UnsubscribeSecret string

	// SMTPHELOName is SMTP_HELO_NAME, or MAIL_FROM's domain when that is
	// fully qualified; empty when neither gives one and mail is not needed.
	SMTPHELOName string
	// SMTPRootCAs is the system roots plus SMTP_TLS_CA_FILE's certificates;
	// nil (the system roots alone) when the variable is unset.
	SMTPRootCAs *x509.CertPool
	// SMTPTLSCAFile is SMTP_TLS_CA_FILE, the file SMTPRootCAs was read from.
	SMTPTLSCAFile string

	// DKIM is DKIM_DOMAIN, DKIM_SELECTOR and the key read from
	// DKIM_KEY_FILE; nil when none of the three is set (mail goes unsigned).
	DKIM *mail.DKIM
	// DKIMKeyFile is DKIM_KEY_FILE, the file DKIM's key was read from.
	DKIMKeyFile string

	SendConcurrency       int           // SEND_CONCURRENCY, default 8
	SendRate              float64       // SEND_RATE messages/s, 0 = unlimited
	SendConnections       int           // SEND_CONNECTIONS, 0 = unlimited
	SendFailurePauseRatio float64       // SEND_FAILURE_PAUSE_RATIO, default 0.5
	TokenTTL              time.Duration // TOKEN_TTL, default 24h
	SessionIdleTimeout    time.Duration // SESSION_IDLE_TIMEOUT, default 2h
	SchedulerGrace        time.Duration // SCHEDULER_GRACE, default 1h
	SendStallAfter        time.Duration // SEND_STALL_AFTER, default 15m
	ShutdownTimeout       time.Duration // SHUTDOWN_TIMEOUT, default 15s
	ClockOffset           time.Duration // CLOCK_OFFSET, default 0: added to this process's clock
	BusTopicPrefix        string        // BUS_TOPIC_PREFIX, default "herald."
	BusMaxLen             int64         // BUS_MAXLEN, default 1000000
	// MemoryTargetMiB is MEMORY_TARGET_MIB: the memory `herald serve`'s Go
	// runtime aims to stay within while what it holds live leaves room
	// (internal/memlimit); 0 leaves the runtime's default. Default 36.
	MemoryTargetMiB int
	// SendRetrySchedule is SEND_RETRY_SCHEDULE: the delays after a
	// delivery's first attempt at which it is retried after a temporary
	// failure, strictly increasing. Default 1m,5m,15m,30m,1h,2h,4h.
	SendRetrySchedule []time.Duration
	// SuppressAfterNoMailbox is SUPPRESS_AFTER_NO_MAILBOX: after how many
	// "no such mailbox" replies (5.1.1, 5.1.6, 5.1.10) an address is
	// suppressed. Default 1.
	SuppressAfterNoMailbox int
	// SuppressAfterBounces is SUPPRESS_AFTER_BOUNCES: after how many
	// permanent failures of any kind an address is suppressed. Default 3.
	SuppressAfterBounces int
	// LoginAccountLimit is LOGIN_ACCOUNT_LIMIT: wrong passwords per account
	// within 15 minutes after which only addresses that have not failed on
	// it are still heard. Default 5.
	LoginAccountLimit int
	// LoginAddrLimit is LOGIN_ADDR_LIMIT: login attempts per client address
	// within 15 minutes, more than LoginAccountLimit. Default 20.
	LoginAddrLimit int
	// AccountMailAddrLimit is ACCOUNT_MAIL_ADDR_LIMIT: registrations and
	// password reset requests per client address within an hour. Default 10.
	AccountMailAddrLimit int
}

// Defaults returns the configuration with every default filled in and no
// URLs; tests start from it.
func Defaults() Config {
	return Config{
		HTTPAddr:               "127.0.0.1:8080",
		LogLevel:               "info",
		LogFormat:              "json",
		SendConcurrency:        8,
		SendRate:               0,
		SendFailurePauseRatio:  0.5,
		SendRetrySchedule:      domain.DefaultRetrySchedule(),
		SuppressAfterNoMailbox: domain.DefaultBounceLimits().NoMailbox,
		SuppressAfterBounces:   domain.DefaultBounceLimits().Other,
		TokenTTL:               24 * time.Hour,
		SessionIdleTimeout:     2 * time.Hour,
		LoginAccountLimit:      5,
		LoginAddrLimit:         20,
		AccountMailAddrLimit:   10,
		SchedulerGrace:         time.Hour,
		SendStallAfter:         15 * time.Minute,
		ShutdownTimeout:        15 * time.Second,
		BusTopicPrefix:         "herald.",
		BusMaxLen:              1_000_000,
		MemoryTargetMiB:        36,
	}
}

// LoadDotEnv merges the variables of the file at path (usually ".env") into
// the process environment without overriding any that are already set. A
// missing file is not an error: the environment alone is a valid set-up.
func LoadDotEnv(path string) error {
	err := godotenv.Load(path)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return fmt.Errorf("config: %s: %v", path, err)
}

// Load parses the process environment (call LoadDotEnv first to include
// `.env`) and requires the variables of needs.
func Load(needs ...Need) (Config, error) {
	return Parse(os.LookupEnv, needs...)
}

// Error is one variable's problem. Its text is one line naming the variable.
type Error struct {
	Var string
	Msg string
}

func (e *Error) Error() string { return "config: " + e.Var + ": " + e.Msg }

// Errors is every problem found, reported on one line.
type Errors []*Error

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Parse reads the variables through lookup (os.LookupEnv in production, a
// map in tests). A variable set to blanks counts as unset. The error, when
// not nil, is of type Errors.
func Parse(lookup func(string) (string, bool), needs ...Need) (Config, error) {
	p := parser{lookup: lookup, needs: map[Need]bool{}}
	for _, n := range needs {
		p.needs[n] = true
	}
	c := Defaults()

	c.DatabaseURL = p.str("DATABASE_URL", NeedDatabase, checkPostgresURL)
	c.RedisURL = p.str("REDIS_URL", NeedRedis, checkRedisURL)
	c.HTTPAddr = p.strDefault("HTTP_ADDR", c.HTTPAddr, checkListenAddr)
	c.DebugAddr = p.strDefault("DEBUG_ADDR", "", checkListenAddr)
	if raw := p.str("SMTP_URL", NeedSMTP, nil); raw != "" {
		ep, err := mail.ParseURL(raw)
		if err != nil {
			p.fail("SMTP_URL", err.Error())
		}
		c.SMTP = ep
	}
	c.MailFrom = p.str("MAIL_FROM", NeedSMTP, checkAddress)
	c.SMTPHELOName = p.heloName(c.MailFrom)
	if file, ok := p.get("SMTP_TLS_CA_FILE"); ok {
		pool, err := mail.LoadRootCAs(file)
		if err != nil {
			p.fail("SMTP_TLS_CA_FILE", err.Error())
		}
		c.SMTPRootCAs, c.SMTPTLSCAFile = pool, file
	}
	c.DKIM, c.DKIMKeyFile = p.dkim(c.MailFrom)
	c.PublicBaseURL = strings.TrimRight(p.str("PUBLIC_BASE_URL", NeedPublicURL, checkBaseURL), "/")
	c.WebCookieSecure = p.boolean("WEB_COOKIE_SECURE", strings.HasPrefix(c.PublicBaseURL, "https://"))
	c.UnsubscribeSecret = p.str("UNSUBSCRIBE_SECRET", NeedUnsubscribe, checkSecret)
	if p.needs[NeedUnsubscribe] && c.PublicBaseURL == "" && !p.needs[NeedPublicURL] {
		p.fail("PUBLIC_BASE_URL", "required, not set (the base of unsubscribe links)")
	}
	c.LogLevel = strings.ToLower(p.strDefault("LOG_LEVEL", c.LogLevel, oneOf("trace", "debug", "info", "warn", "error")))
	c.LogFormat = strings.ToLower(p.strDefault("LOG_FORMAT", c.LogFormat, oneOf("json", "console")))

	c.SendConcurrency = p.positiveInt("SEND_CONCURRENCY", c.SendConcurrency)
	c.SendRate = p.float("SEND_RATE", c.SendRate, 0, false, -1, "a number of messages per second, 0 or more")
	c.SendConnections = p.nonNegativeInt("SEND_CONNECTIONS", c.SendConnections)
	c.SendFailurePauseRatio = p.float("SEND_FAILURE_PAUSE_RATIO", c.SendFailurePauseRatio, 0, true, 1, "a number greater than 0 and at most 1")
	c.SendRetrySchedule = p.schedule("SEND_RETRY_SCHEDULE", c.SendRetrySchedule)
	c.SuppressAfterNoMailbox = p.positiveInt("SUPPRESS_AFTER_NO_MAILBOX", c.SuppressAfterNoMailbox)
	c.SuppressAfterBounces = p.positiveInt("SUPPRESS_AFTER_BOUNCES", c.SuppressAfterBounces)
	c.TokenTTL = p.duration("TOKEN_TTL", c.TokenTTL)
	c.SessionIdleTimeout = p.duration("SESSION_IDLE_TIMEOUT", c.SessionIdleTimeout)
	c.LoginAccountLimit = p.positiveInt("LOGIN_ACCOUNT_LIMIT", c.LoginAccountLimit)
	c.LoginAddrLimit = p.positiveInt("LOGIN_ADDR_LIMIT", c.LoginAddrLimit)
	if c.LoginAddrLimit <= c.LoginAccountLimit {
		// An address must be able to fail on an account more often than the
		// account takes, or one address would lock the owner out.
		p.fail("LOGIN_ADDR_LIMIT", fmt.Sprintf("must be more than LOGIN_ACCOUNT_LIMIT (%d), got %d", c.LoginAccountLimit, c.LoginAddrLimit))
	}
	c.AccountMailAddrLimit = p.positiveInt("ACCOUNT_MAIL_ADDR_LIMIT", c.AccountMailAddrLimit)
	c.SchedulerGrace = p.duration("SCHEDULER_GRACE", c.SchedulerGrace)
	c.SendStallAfter = p.duration("SEND_STALL_AFTER", c.SendStallAfter)
	c.ShutdownTimeout = p.duration("SHUTDOWN_TIMEOUT", c.ShutdownTimeout)
	if v, ok := p.get("CLOCK_OFFSET"); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			p.fail("CLOCK_OFFSET", fmt.Sprintf("must be a duration such as -1m or 30s, got %q", v))
		}
		c.ClockOffset = d
	}
	if v, ok := p.get("BUS_TOPIC_PREFIX"); ok {
		c.BusTopicPrefix = v
	}
	c.BusMaxLen = int64(p.positiveInt("BUS_MAXLEN", int(c.BusMaxLen)))
	c.MemoryTargetMiB = p.nonNegativeInt("MEMORY_TARGET_MIB", c.MemoryTargetMiB)

	if len(p.errs) > 0 {
		return c, p.errs
	}
	return c, nil
}

type parser struct {
	lookup func(string) (string, bool)
	needs  map[Need]bool
	errs   Errors
}

func (p *parser) fail(name, msg string) {
	p.errs = append(p.errs, &Error{Var: name, Msg: msg})
}

// get returns the trimmed value and whether it is set to something.
func (p *parser) get(name string) (string, bool) {
	v, ok := p.lookup(name)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

// str reads a variable required when need is among the needs; check, when
// not nil, validates a set value.
func (p *parser) str(name string, need Need, check func(string) error) string {
	v, ok := p.get(name)
	if !ok {
		if p.needs[need] {
			p.fail(name, "required, not set")
		}
		return ""
	}
	if check != nil {
		if err := check(v); err != nil {
			p.fail(name, err.Error())
		}
	}
	return v
}

func (p *parser) strDefault(name, def string, check func(string) error) string {
	v, ok := p.get(name)
	if !ok {
		return def
	}
	if err := check(v); err != nil {
		p.fail(name, err.Error())
		return def
	}
	return v
}

func (p *parser) positiveInt(name string, def int) int {
	v, ok := p.get(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		p.fail(name, fmt.Sprintf("must be a positive integer, got %q", v))
		return def
	}
	return n
}

func (p *parser) nonNegativeInt(name string, def int) int {
	v, ok := p.get(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		p.fail(name, fmt.Sprintf("must be an integer, 0 or more, got %q", v))
		return def
	}
	return n
}

// float parses a number in [lo, hi] (lo excluded when loOpen; hi < 0 means
// no upper bound).
func (p *parser) float(name string, def, lo float64, loOpen bool, hi float64, want string) float64 {
	v, ok := p.get(name)
	if !ok {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	bad := err != nil || f != f || f < lo || (loOpen && f == lo) || (hi >= 0 && f > hi)
	if bad {
		p.fail(name, fmt.Sprintf("must be %s, got %q", want, v))
		return def
	}
	return f
}

func (p *parser) boolean(name string, def bool) bool {
	v, ok := p.get(name)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.fail(name, fmt.Sprintf("must be true or false, got %q", v))
		return def
	}
	return b
}

func (p *parser) duration(name string, def time.Duration) time.Duration {
	v, ok := p.get(name)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		p.fail(name, fmt.Sprintf("must be a positive duration such as 30s, 15m or 24h, got %q", v))
		return def
	}
	return d
}

// heloName is SMTP_HELO_NAME when set (refused when not a fully qualified
// name or address literal, whatever the needs), else MAIL_FROM's domain. A
// bare MAIL_FROM domain is an error only when mail is needed: `herald
// migrate` does not greet anyone.
func (p *parser) heloName(from string) string {
	if v, ok := p.get("SMTP_HELO_NAME"); ok {
		if err := mail.CheckHELOName(v); err != nil {
			p.fail("SMTP_HELO_NAME", err.Error())
			return ""
		}
		return v
	}
	a, err := netmail.ParseAddress(from)
	if err != nil {
		return "" // MAIL_FROM unset or malformed, reported on its own
	}
	name, err := mail.DefaultHELOName(a.Address)
	if err != nil {
		if p.needs[NeedSMTP] {
			p.fail("SMTP_HELO_NAME", "not set, and "+err.Error())
		}
		return ""
	}
	return name
}

// dkim reads DKIM_DOMAIN, DKIM_SELECTOR and DKIM_KEY_FILE: all three or
// none. The key must parse and the domain align with MAIL_FROM's (the same
// or a parent), whatever the needs: a tool that signs nothing still should
// not accept a set-up that would send mail DMARC fails.
func (p *parser) dkim(from string) (*mail.DKIM, string) {
	names := []string{"DKIM_DOMAIN", "DKIM_SELECTOR", "DKIM_KEY_FILE"}
	vals := make([]string, len(names))
	var set, unset []string
	for i, n := range names {
		v, ok := p.get(n)
		vals[i] = v
		if ok {
			set = append(set, n)
		} else {
			unset = append(unset, n)
		}
	}
	if len(set) == 0 {
		return nil, ""
	}
	verb := " is set"
	if len(set) > 1 {
		verb = " are set"
	}
	for _, n := range unset {
		p.fail(n, "required when "+strings.Join(set, " and ")+verb+": DKIM needs the domain, the selector and the key file (or none of them, to send unsigned)")
	}
	if len(unset) > 0 {
		return nil, ""
	}
	d := &mail.DKIM{Domain: strings.ToLower(strings.TrimSuffix(vals[0], ".")), Selector: vals[1]}
	ok := true
	if !isDomain(d.Domain) {
		p.fail("DKIM_DOMAIN", fmt.Sprintf("must be a domain name such as example.com, got %q", vals[0]))
		ok = false
	} else if a, err := netmail.ParseAddress(from); err == nil {
		if err := mail.CheckDKIMDomain(d.Domain, a.Address); err != nil {
			p.fail("DKIM_DOMAIN", err.Error())
			ok = false
		}
	}
	if err := mail.CheckDKIMSelector(d.Selector); err != nil {
		p.fail("DKIM_SELECTOR", err.Error())
		ok = false
	}
	key, err := mail.LoadDKIMKey(vals[2])
	if err != nil {
		p.fail("DKIM_KEY_FILE", err.Error())
		ok = false
	}
	if !ok {
		return nil, vals[2]
	}
	d.Key = key
	return d, vals[2]
}

// isDomain accepts a name of at least two labels of letters, digits and
// hyphens.
func isDomain(v string) bool {
	return mail.CheckHELOName(v) == nil && !strings.HasPrefix(v, "[")
}

// schedule parses comma-separated positive durations in strictly
// increasing order.
func (p *parser) schedule(name string, def []time.Duration) []time.Duration {
	v, ok := p.get(name)
	if !ok {
		return def
	}
	var out []time.Duration
	for part := range strings.SplitSeq(v, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		switch {
		case err != nil || d <= 0:
			p.fail(name, fmt.Sprintf("must be comma-separated positive durations such as 1m,5m,15m,1h; %q is not one", strings.TrimSpace(part)))
			return def
		case len(out) > 0 && d <= out[len(out)-1]:
			p.fail(name, fmt.Sprintf("must be strictly increasing (each the delay after the first attempt); %s does not follow %s", d, out[len(out)-1]))
			return def
		}
		out = append(out, d)
	}
	return out
}

func oneOf(values ...string) func(string) error {
	return func(v string) error {
		for _, w := range values {
			if strings.EqualFold(v, w) {
				return nil
			}
		}
		return fmt.Errorf("must be one of %s, got %q", strings.Join(values, "|"), v)
	}
}

// checkPostgresURL accepts what pgx accepts, but insists on the URL form
// .env.sample documents; the parse error text is not repeated because it could
// contain the password.
func checkPostgresURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return errors.New("must be a PostgreSQL URL such as postgres://user:pass@host:5432/db")
	}
	if _, err := pgconn.ParseConfig(v); err != nil {
		return errors.New("is not a valid PostgreSQL connection URL")
	}
	return nil
}

func checkRedisURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") {
		return errors.New("must be a Redis URL such as redis://host:6379/0")
	}
	if _, err := redis.ParseURL(v); err != nil {
		return errors.New("is not a valid Redis URL (redis://[user:pass@]host:port/db)")
	}
	return nil
}

func checkListenAddr(v string) error {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("must be host:port such as 127.0.0.1:8080, got %q", v)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port must be a number from 0 to 65535, got %q", v)
	}
	return nil
}

func checkAddress(v string) error {
	if _, err := netmail.ParseAddress(v); err != nil {
		return fmt.Errorf("must be an email address such as \"Herald <herald@example.com>\", got %q", v)
	}
	return nil
}

// checkSecret refuses a secret too short to sign with.
func checkSecret(v string) error {
	if len(v) < 32 {
		return errors.New("must be at least 32 characters (openssl rand -base64 32 makes one)")
	}
	return nil
}

func checkBaseURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("must be an absolute http(s) URL such as https://herald.example.com, got %q", v)
	}
	return nil
}
