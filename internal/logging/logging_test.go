package logging

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestJSONByDefault(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, "", "")
	if err != nil {
		t.Fatal(err)
	}
	log.Debug().Msg("hidden at info")
	log.Info().Str("user_id", "u1").Dur("took", 1500*time.Microsecond).Msg("hello")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one line (debug filtered at the default info level), got %q", buf.String())
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatalf("not JSON: %q", lines[0])
	}
	if m["level"] != "info" || m["message"] != "hello" || m["user_id"] != "u1" || m["took"] != 1.5 {
		t.Fatalf("fields: %v", m)
	}
	ts, _ := m["time"].(string)
	if _, err := time.Parse(time.RFC3339, ts); err != nil || !strings.HasSuffix(ts, "Z") {
		t.Fatalf("time %q is not RFC 3339 UTC", ts)
	}
}

func TestLevelAndConsole(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, "WARN", "console")
	if err != nil {
		t.Fatal(err)
	}
	log.Info().Msg("quiet")
	log.Warn().Str("k", "v").Msg("loud")
	out := buf.String()
	if strings.Contains(out, "quiet") || !strings.Contains(out, "loud") || !strings.Contains(out, "k=") {
		t.Fatalf("console output %q", out)
	}
	if strings.HasPrefix(strings.TrimSpace(out), "{") {
		t.Fatalf("console format wrote JSON: %q", out)
	}
}

func TestRejects(t *testing.T) {
	if _, err := New(&bytes.Buffer{}, "loud", "json"); err == nil {
		t.Fatal("unknown level accepted")
	}
	if _, err := New(&bytes.Buffer{}, "info", "xml"); err == nil {
		t.Fatal("unknown format accepted")
	}
}

func TestConsoleWithoutTerminalHasNoColour(t *testing.T) {
	var buf bytes.Buffer
	log, _ := New(&buf, "info", "console")
	log.Info().Str("k", "v").Msg("plain")
	if strings.Contains(buf.String(), "\x1b[") {
		t.Fatalf("escape codes written to a non-terminal: %q", buf.String())
	}
}
