package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/config"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/projections"
)

// herald runs the command line in-process and returns the exit status and
// both streams.
func herald(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// flagNames lists a command's flags as its FlagSet declares them.
func flagNames(c command) []string {
	fs, _ := flagSet(c)
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	return names
}

// `herald help` lists every command with every one of its flags, on stdout.
func TestHelpListsEveryCommandAndFlag(t *testing.T) {
	code, out, errOut := herald(t, "help")
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	lines := strings.Split(out, "\n")
	for _, c := range append(slices.Clone(commands), command{name: "help", define: func(*flag.FlagSet) action { return nil }}) {
		i := slices.IndexFunc(lines, func(l string) bool { return l == "  "+c.name || strings.HasPrefix(l, "  "+c.name+" ") })
		if i < 0 {
			t.Errorf("herald help does not list %s:\n%s", c.name, out)
			continue
		}
		for _, f := range flagNames(c) {
			if !regexp.MustCompile(`\[--` + regexp.QuoteMeta(f) + `[ \]]`).MatchString(lines[i]) {
				t.Errorf("herald help: %q lacks --%s", lines[i], f)
			}
		}
		if c.summary != "" && (i+1 >= len(lines) || strings.TrimSpace(lines[i+1]) != c.summary) {
			t.Errorf("herald help: %s is not followed by its summary", c.name)
		}
	}
	for _, want := range []string{"0 ok", "1 failure", "2 usage error", "3 not found", "4 refused"} {
		if !strings.Contains(out, want) {
			t.Errorf("herald help does not document exit status %q", want)
		}
	}
}

// `herald COMMAND --help`, `-h` and `herald help COMMAND` print the same
// usage on stdout: the synopsis naming every flag, then each flag with its
// explanation.
func TestCommandHelpListsItsFlags(t *testing.T) {
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			var first string
			for _, args := range [][]string{{c.name, "--help"}, {c.name, "-h"}, {"help", c.name}} {
				code, out, errOut := herald(t, args...)
				if code != exitOK || errOut != "" {
					t.Fatalf("%q: exit %d, stderr %q", args, code, errOut)
				}
				if first == "" {
					first = out
				} else if out != first {
					t.Fatalf("%q printed another text than %s --help:\n%s", args, c.name, out)
				}
			}
			synopsis, _, _ := strings.Cut(first, "\n")
			if !strings.HasPrefix(synopsis, "usage: herald "+c.name) {
				t.Fatalf("first line %q", synopsis)
			}
			if !strings.Contains(first, "\n"+c.summary+"\n") {
				t.Errorf("no summary in:\n%s", first)
			}
			_, flags, hasFlags := strings.Cut(first, "\nflags:\n")
			for _, f := range flagNames(c) {
				if !strings.Contains(synopsis, "[--"+f) {
					t.Errorf("synopsis %q lacks --%s", synopsis, f)
				}
				re := regexp.MustCompile(`(?m)^  --` + regexp.QuoteMeta(f) + `( [A-Z:_]+)?\n        \S`)
				if !hasFlags || !re.MatchString(flags) {
					t.Errorf("--%s is not listed with its explanation in:\n%s", f, first)
				}
			}
		})
	}
}

// An unknown command (or `herald help` of one) is a usage error: the usage
// on stderr, nothing on stdout, exit status 2. A bad flag or argument
// names the command and shows its synopsis.
func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{{"bogus"}, {"help", "bogus"}, {"--bogus"}} {
		code, out, errOut := herald(t, args...)
		if code != exitUsage || out != "" || !strings.Contains(errOut, fmt.Sprintf("unknown command %q", args[len(args)-1])) ||
			!strings.Contains(errOut, "usage: herald <command>") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"version", "--nope"}, "herald version: flag provided but not defined: -nope\nusage: herald version [--json]\n"},
		{[]string{"config", "extra"}, "herald config: unexpected arguments [\"extra\"]\nusage: herald config [--json]\n"},
		{[]string{"send", "--mailing", "x"}, "herald send: invalid value \"x\" for flag -mailing"},
		{[]string{"send"}, "herald send: name a mailing with --mailing or a run with --run, or use --due\nusage: herald send [--due]"},
		{[]string{"rebuild-projections", "--nice", "20"}, "herald rebuild-projections: --nice must be between 0 and 19\n"},
	} {
		code, out, errOut := herald(t, tt.args...)
		if code != exitUsage || out != "" || !strings.HasPrefix(errOut, tt.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and %q", tt.args, code, out, errOut, tt.want)
		}
	}
}

// Flags may follow the positional arguments; "--" ends them.
func TestParseArgsAnywhere(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	j := fs.Bool("json", false, "")
	n := fs.Int("n", 0, "")
	pos, err := parseArgs(fs, []string{"a", "--json", "b", "-n", "3", "--", "--c"})
	if err != nil || !*j || *n != 3 || !slices.Equal(pos, []string{"a", "b", "--c"}) {
		t.Fatalf("%q %v json=%v n=%d", pos, err, *j, *n)
	}
}

func TestExitCodes(t *testing.T) {
	plain := errors.New("connection refused")
	for _, tt := range []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{plain, exitFailure},
		{fmt.Errorf("mailing x: %w", domain.NotFound("mailing")), exitNotFound},
		{domain.ErrMailingInactive, exitRefused},
		{domain.ErrEmailTaken, exitRefused},
		{domain.Invalid("password", "too short"), exitRefused},
		{fmt.Errorf("%w; try again", projections.ErrRebuildRunning), exitRefused},
		{pendingMigrations(2), exitRefused},
		{errors.Join(domain.NotFound("a"), domain.NotFound("b")), exitNotFound},
		{errors.Join(domain.NotFound("a"), nil, domain.ErrMailingCompleted), exitFailure},
		{errors.Join(domain.NotFound("a"), plain), exitFailure},
	} {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

// A tool's log does not repeat its report to a person: on a terminal it is
// the console format at warn (debug and trace stay); elsewhere JSON at
// LOG_LEVEL. A server's log follows LOG_FORMAT and LOG_LEVEL.
func TestToolLog(t *testing.T) {
	for _, tt := range []struct {
		server, terminal bool
		level, format    string
		wantL, wantF     string
	}{
		{false, true, "info", "json", "warn", "console"},
		{false, true, "error", "json", "warn", "console"},
		{false, true, "debug", "json", "debug", "console"},
		{false, false, "info", "console", "info", "json"},
		{true, true, "info", "json", "info", "json"},
		{true, false, "debug", "console", "debug", "console"},
	} {
		l, f := toolLog(tt.server, tt.terminal, tt.level, tt.format)
		if l != tt.wantL || f != tt.wantF {
			t.Errorf("toolLog(%v, %v, %s, %s) = %s, %s; want %s, %s", tt.server, tt.terminal, tt.level, tt.format, l, f, tt.wantL, tt.wantF)
		}
	}
}

func TestBuildVersion(t *testing.T) {
	vcs := &debug.BuildInfo{Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
		{Key: "vcs.time", Value: "2026-01-02T03:04:05Z"},
		{Key: "vcs.modified", Value: "true"},
	}}
	for _, tt := range []struct {
		stamped string
		bi      *debug.BuildInfo
		want    string
	}{
		{"v1.4.0-3-gabcdef1-dirty", vcs, "v1.4.0-3-gabcdef1-dirty"},
		{"", vcs, "0123456789ab-dirty"},
		{"", &debug.BuildInfo{Settings: vcs.Settings[:1]}, "0123456789ab"},
		{"", &debug.BuildInfo{}, "devel"},
		{"", nil, "devel"},
	} {
		if v := buildVersion(tt.stamped, tt.bi); v.Version != tt.want || v.Go != runtime.Version() {
			t.Errorf("buildVersion(%q) = %+v, want %s", tt.stamped, v, tt.want)
		}
	}
	if v := buildVersion("", vcs); v.Revision != "0123456789abcdef0123456789abcdef01234567" || !v.Modified || v.Time != "2026-01-02T03:04:05Z" {
		t.Errorf("vcs details %+v", v)
	}
}

func TestVersionCommand(t *testing.T) {
	code, out, errOut := herald(t, "version")
	want := regexp.MustCompile(`^herald \S+ \(` + regexp.QuoteMeta(runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH) + `\)\n$`)
	if code != exitOK || errOut != "" || !want.MatchString(out) {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, _ = herald(t, "--version", "--json")
	var v versionInfo
	if err := json.Unmarshal([]byte(out), &v); code != exitOK || err != nil || v.Go != runtime.Version() || v.Version == "" {
		t.Fatalf("--json: exit %d, %v, %q", code, err, out)
	}
}

// The binary built as `make build` builds it reports the stamped version.
func TestVersionStampedAtBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "herald")
	build := exec.Command("go", "build", "-ldflags", "-X main.version=v9.8.7-1-gabcdef0-dirty", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "herald v9.8.7-1-gabcdef0-dirty (go") {
		t.Fatalf("%v %q", err, out)
	}
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(makefile), "-X main.version=") {
		t.Fatal("make build does not stamp main.version")
	}
}

// `herald config` prints every setting in the order of .env.sample, with
// the passwords of DATABASE_URL, REDIS_URL and SMTP_URL and the
// superuser's password masked; --json prints the same settings.
func TestConfigMasksSecrets(t *testing.T) {
	secrets := []string{"pg-Secret-1", "q-Secret-2", "redis-Secret-3", "smtp@Secret-4", "smtp%40Secret-4", "su-Secret-5"}
	t.Setenv("DATABASE_URL", "postgres://herald:pg-Secret-1@db.example.com:5432/herald?sslmode=disable&password=q-Secret-2")
	t.Setenv("REDIS_URL", "redis://:redis-Secret-3@cache.example.com:6379/0")
	t.Setenv("SMTP_URL", "smtp://mailer:smtp%40Secret-4@relay.example.com?starttls=required&auth=login")
	t.Setenv("MAIL_FROM", "Herald <herald@example.com>")
	t.Setenv("HERALD_SUPERUSER_PASSWORD", "su-Secret-5")
	t.Setenv("TOKEN_TTL", "90m")

	code, out, errOut := herald(t, "config")
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	code, js, errOut := herald(t, "config", "--json")
	if code != exitOK || errOut != "" {
		t.Fatalf("--json: exit %d, stderr %q", code, errOut)
	}
	for _, s := range secrets {
		if strings.Contains(out, s) || strings.Contains(js, s) {
			t.Fatalf("secret %q printed:\n%s\n%s", s, out, js)
		}
	}
	var got []config.Setting
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			t.Fatalf("line %q is not NAME=value", sc.Text())
		}
		got = append(got, config.Setting{Name: name, Value: value})
	}
	value := func(name string) string {
		for _, s := range got {
			if s.Name == name {
				return s.Value
			}
		}
		t.Fatalf("no %s in:\n%s", name, out)
		return ""
	}
	for name, want := range map[string]string{
		"DATABASE_URL":              "postgres://herald:xxxxx@db.example.com:5432/herald?sslmode=disable&password=xxxxx",
		"REDIS_URL":                 "redis://:xxxxx@cache.example.com:6379/0",
		"SMTP_URL":                  "smtp://mailer:xxxxx@relay.example.com:587?starttls=required&auth=LOGIN",
		"HERALD_SUPERUSER_PASSWORD": "xxxxx",
		"MAIL_FROM":                 "Herald <herald@example.com>",
		"SMTP_HELO_NAME":            "example.com",
		"TOKEN_TTL":                 "1h30m",
		"SEND_RETRY_SCHEDULE":       "1m,5m,15m,30m,1h,2h,4h",
		"SEND_CONCURRENCY":          "8",
	} {
		if v := value(name); v != want {
			t.Errorf("%s=%s, want %s", name, v, want)
		}
	}

	// The order and the names are .env.sample's, every one of them.
	sample, err := os.ReadFile("../../.env.sample")
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, m := range regexp.MustCompile(`(?m)^(?:# ?)?([A-Z][A-Z0-9_]*)=`).FindAllStringSubmatch(string(sample), -1) {
		documented = append(documented, m[1])
	}
	var names []string
	for _, s := range got {
		names = append(names, s.Name)
	}
	if !slices.Equal(names, documented) {
		t.Errorf("herald config lists %v\n.env.sample documents %v", names, documented)
	}

	// --json: one object, the same settings in the same order.
	var obj map[string]string
	if err := json.Unmarshal([]byte(js), &obj); err != nil {
		t.Fatalf("--json: %v\n%s", err, js)
	}
	dec := json.NewDecoder(strings.NewReader(js))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	for i := 0; dec.More(); i++ {
		key, _ := dec.Token()
		var v string
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if i >= len(got) || key != got[i].Name || v != got[i].Value {
			t.Fatalf("--json entry %d is %v=%q, the text says %+v", i, key, v, got[min(i, len(got)-1)])
		}
	}
	if len(obj) != len(got) {
		t.Fatalf("--json has %d settings, the text %d", len(obj), len(got))
	}

	// A malformed setting is reported like every command reports it.
	t.Setenv("SEND_CONCURRENCY", "many")
	if code, _, errOut := herald(t, "config"); code != exitFailure || errOut != "herald config: config: SEND_CONCURRENCY: must be a positive integer, got \"many\"\n" {
		t.Fatalf("malformed: exit %d, %q", code, errOut)
	}
}

// history and send through the command line against real PostgreSQL and
// Redis: --json prints parsable documents, and the exit status tells a
// missing mailing (3) from a refused one (4).
func TestHistoryAndSendJSON(t *testing.T) {
	ctx := context.Background()
	t.Setenv("DATABASE_URL", testenv.DatabaseURL(t))
	t.Setenv("REDIS_URL", testenv.RedisURL())
	t.Setenv("BUS_TOPIC_PREFIX", testenv.Name("clijson")+".")
	t.Setenv("LOG_LEVEL", "info")
	cfg, err := config.Load(config.NeedDatabase)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := openPool(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	store, err := eventstore.New(pool)
	if err != nil {
		t.Fatal(err)
	}
	owner := uuid.New()
	commit := func(typ string, id uuid.UUID, evs []domain.Event) {
		t.Helper()
		news := make([]domain.NewEvent, len(evs))
		for i, e := range evs {
			news[i] = domain.NewEvent{ID: uuid.New(), Event: e, Metadata: domain.Metadata{ActorID: owner, CorrelationID: uuid.New()}}
		}
		if _, err := store.Append(ctx, domain.Stream{Type: typ, ID: id}, eventstore.NoStream, news...); err != nil {
			t.Fatal(err)
		}
	}
	clientID := uuid.New()
	c, _ := domain.NewClient(clientID, owner, domain.ClientFields{Email: "json@example.test", FullName: "J"})
	commit(domain.ClientStreamType, clientID, c.Changes())
	msgID := uuid.New()
	msg, _ := domain.NewMessage(msgID, owner, domain.MessageFields{Subject: "S", Body: "B"})
	commit("message", msgID, msg.Changes())
	mailing := func(active bool) uuid.UUID {
		id := uuid.New()
		start := time.Now().Add(7 * 24 * time.Hour)
		m, err := domain.NewMailing(id, owner, domain.MailingFields{MessageID: msgID, ClientIDs: []uuid.UUID{clientID}, StartAt: start,
			EndAt: start.Add(48 * time.Hour), Periodicity: domain.Daily}, active)
		if err != nil {
			t.Fatal(err)
		}
		commit(domain.MailingStreamType, id, m.Changes())
		return id
	}
	active, disabled, missing := mailing(true), mailing(false), uuid.New()

	// history --json, flags after the id.
	code, out, errOut := herald(t, "history", active.String(), "--json")
	var doc struct {
		MailingID uuid.UUID         `json:"mailing_id"`
		Events    []json.RawMessage `json:"events"`
	}
	if code != exitOK || errOut != "" || json.Unmarshal([]byte(out), &doc) != nil || len(doc.Events) != 1 {
		t.Fatalf("history --json: exit %d, stderr %q, stdout %s", code, errOut, out)
	}
	if code, out, errOut := herald(t, "history", "--json", missing.String()); code != exitNotFound || out != "" || !strings.Contains(errOut, "not found") {
		t.Fatalf("history of a missing mailing: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	// send --json: one document with each run, whatever the outcome.
	type sent struct {
		Runs []struct {
			MailingID uuid.UUID `json:"mailing_id"`
			RunID     uuid.UUID `json:"run_id"`
			State     string    `json:"state"`
			Clients   int       `json:"clients"`
			Error     string    `json:"error"`
		} `json:"runs"`
	}
	for _, tt := range []struct {
		id    uuid.UUID
		code  int
		state string
	}{
		{active, exitOK, runDispatched},
		{missing, exitNotFound, runNotDispatched},
		{disabled, exitRefused, runNotDispatched},
	} {
		code, out, errOut := herald(t, "send", "--json", "--mailing", tt.id.String())
		var got sent
		if err := json.Unmarshal([]byte(out), &got); err != nil || code != tt.code || len(got.Runs) != 1 {
			t.Fatalf("send --json --mailing %s: exit %d (want %d), %v, stdout %s, stderr %s", tt.id, code, tt.code, err, out, errOut)
		}
		r := got.Runs[0]
		if r.MailingID != tt.id || r.State != tt.state || (tt.code == exitOK) != (r.RunID != uuid.Nil && r.Clients == 1 && r.Error == "") {
			t.Fatalf("send --json --mailing %s: %+v", tt.id, r)
		}
		// stderr is no terminal: the log is JSON lines, and the failure one
		// line naming the command.
		for _, l := range strings.Split(strings.TrimSpace(errOut), "\n") {
			if l != "" && !json.Valid([]byte(l)) && !strings.HasPrefix(l, "herald send: mailing "+tt.id.String()+": ") {
				t.Fatalf("stderr line %q", l)
			}
		}
	}
	// Without --json: one line per run.
	if code, out, _ := herald(t, "send", "--mailing", active.String()); code != exitOK ||
		!regexp.MustCompile(`^dispatched mailing `+active.String()+`: run \S+, 1 clients\n$`).MatchString(out) {
		t.Fatalf("send: exit %d, %q", code, out)
	}
}
