package config

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Masked stands in for a secret in Settings (url.URL.Redacted's mask).
const Masked = "xxxxx"

// Setting is one variable with its effective value.
type Setting struct {
	Name  string // the variable, such as DATABASE_URL
	Value string // as .env would set it; empty when unset and without a default
}

// Settings lists every variable Config holds with its effective value (the
// default when unset) in the order .env.sample describes them. Secrets are
// masked: the password of every URL and any secret in a URL's query, so the
// list is safe to print and to log.
func (c Config) Settings() []Setting {
	return []Setting{
		{"DATABASE_URL", MaskURL(c.DatabaseURL)},
		{"REDIS_URL", MaskURL(c.RedisURL)},
		{"HTTP_ADDR", c.HTTPAddr},
		{"SMTP_URL", c.smtpURL()},
		{"MAIL_FROM", c.MailFrom},
		{"SMTP_HELO_NAME", c.SMTPHELOName},
		{"SMTP_TLS_CA_FILE", c.SMTPTLSCAFile},
		{"DKIM_DOMAIN", c.dkimDomain()},
		{"DKIM_SELECTOR", c.dkimSelector()},
		{"DKIM_KEY_FILE", c.DKIMKeyFile},
		{"PUBLIC_BASE_URL", MaskURL(c.PublicBaseURL)},
		{"WEB_COOKIE_SECURE", strconv.FormatBool(c.WebCookieSecure)},
		{"UNSUBSCRIBE_SECRET", maskSecret(c.UnsubscribeSecret)},
		{"LOG_LEVEL", c.LogLevel},
		{"LOG_FORMAT", c.LogFormat},
		{"SEND_CONCURRENCY", strconv.Itoa(c.SendConcurrency)},
		{"SEND_RATE", strconv.FormatFloat(c.SendRate, 'g', -1, 64)},
		{"SEND_CONNECTIONS", strconv.Itoa(c.SendConnections)},
		{"SEND_RETRY_SCHEDULE", formatSchedule(c.SendRetrySchedule)},
		{"SUPPRESS_AFTER_NO_MAILBOX", strconv.Itoa(c.SuppressAfterNoMailbox)},
		{"SUPPRESS_AFTER_BOUNCES", strconv.Itoa(c.SuppressAfterBounces)},
		{"TOKEN_TTL", formatDuration(c.TokenTTL)},
		{"SESSION_IDLE_TIMEOUT", formatDuration(c.SessionIdleTimeout)},
		{"LOGIN_ACCOUNT_LIMIT", strconv.Itoa(c.LoginAccountLimit)},
		{"LOGIN_ADDR_LIMIT", strconv.Itoa(c.LoginAddrLimit)},
		{"ACCOUNT_MAIL_ADDR_LIMIT", strconv.Itoa(c.AccountMailAddrLimit)},
		{"SCHEDULER_GRACE", formatDuration(c.SchedulerGrace)},
		{"SEND_FAILURE_PAUSE_RATIO", strconv.FormatFloat(c.SendFailurePauseRatio, 'g', -1, 64)},
		{"SEND_STALL_AFTER", formatDuration(c.SendStallAfter)},
		{"SHUTDOWN_TIMEOUT", formatDuration(c.ShutdownTimeout)},
		{"CLOCK_OFFSET", formatDuration(c.ClockOffset)},
		{"DEBUG_ADDR", c.DebugAddr},
		{"BUS_TOPIC_PREFIX", c.BusTopicPrefix},
		{"BUS_MAXLEN", strconv.FormatInt(c.BusMaxLen, 10)},
		{"MEMORY_TARGET_MIB", strconv.Itoa(c.MemoryTargetMiB)},
	}
}

func (c Config) dkimDomain() string {
	if c.DKIM == nil {
		return ""
	}
	return c.DKIM.Domain
}

func (c Config) dkimSelector() string {
	if c.DKIM == nil {
		return ""
	}
	return c.DKIM.Selector
}

// smtpURL is SMTP_URL as parsed (default port and TLS mode filled in), its
// password masked.
func (c Config) smtpURL() string {
	s := c.SMTP.String() // never holds the password
	if s == "" || c.SMTP.Password == "" {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return Masked
	}
	u.User = url.UserPassword(c.SMTP.Username, Masked)
	return u.Redacted()
}

// MaskURL returns raw with its password, and the value of every query
// parameter naming a secret (password, sslpassword, token...), replaced by
// Masked. A value that is not a URL is masked whole.
func MaskURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Masked
	}
	if u.RawQuery != "" {
		parts := strings.Split(u.RawQuery, "&")
		for i, p := range parts {
			key, _, _ := strings.Cut(p, "=")
			if k, err := url.QueryUnescape(key); err == nil && secretKey(k) {
				parts[i] = key + "=" + Masked
			}
		}
		u.RawQuery = strings.Join(parts, "&")
	}
	return u.Redacted()
}

// secretKey reports a query parameter that holds a secret.
func secretKey(k string) bool {
	k = strings.ToLower(k)
	for _, w := range []string{"pass", "secret", "token"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// formatDuration writes d as Go syntax without zero units: 24h, 1h30m, 15m, 30s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func formatSchedule(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = formatDuration(d)
	}
	return strings.Join(parts, ",")
}

// maskSecret hides a set secret, and shows an unset one as empty.
func maskSecret(s string) string {
	if s == "" {
		return ""
	}
	return Masked
}
