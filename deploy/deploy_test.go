// Package deploy_test checks the deployment files of deploy/: the systemd
// units pass systemd-analyze verify with the herald binary built from this
// tree, and the units and the compose file run every role of
// `herald serve` with settings that exist.
package deploy_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/heraldmail/herald/internal/testenv"
)

// roles are the roles `herald serve --roles` knows, from its own refusal of
// an unknown one.
func roles(t *testing.T, bin string) []string {
	t.Helper()
	out, _ := exec.Command(bin, "serve", "--roles", "no-such-role").CombinedOutput()
	m := regexp.MustCompile(`roles: ([a-z,]+)\)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("herald serve did not list its roles: %s", out)
	}
	return strings.Split(string(m[1]), ",")
}

// settings are the variables .env.sample describes.
func settings(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile("../.env.sample")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#? ?([A-Z][A-Z0-9_]+)=`).FindAllSubmatch(b, -1) {
		vars[string(m[1])] = true
	}
	return vars
}

var serveRoles = regexp.MustCompile(`(?m)^ExecStart=/usr/local/bin/herald serve --roles ([a-z,]+)$`)

// Every unit passes systemd-analyze verify (warnings included) with the
// binary built here in ExecStart, and the units together run every role.
func TestSystemdUnitsVerify(t *testing.T) {
	bin := testenv.HeraldBinary(t)
	units, err := filepath.Glob("systemd/*.service")
	if err != nil || len(units) == 0 {
		t.Fatalf("no units: %v", err)
	}
	dir := t.TempDir()
	env := filepath.Join(dir, "herald.env")
	if err := os.WriteFile(env, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var covered []string
	var paths []string
	for _, u := range units {
		b, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range serveRoles.FindAllSubmatch(b, -1) {
			covered = append(covered, strings.Split(string(m[1]), ",")...)
		}
		b = bytes.ReplaceAll(b, []byte("/usr/local/bin/herald"), []byte(bin))
		b = bytes.ReplaceAll(b, []byte("/etc/herald/herald.env"), []byte(env))
		name := filepath.Base(u)
		if strings.HasSuffix(name, "@.service") {
			name = strings.Replace(name, "@.service", "@1.service", 1) // an instance of the template
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(u)), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	cmd := exec.Command("systemd-analyze", append([]string{"verify", "--man=no"}, paths...)...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, stderr.String())
	}
	sort.Strings(covered)
	if want := roles(t, bin); !slices.Equal(slices.Compact(covered), sortedCopy(want)) {
		t.Errorf("the units run the roles %v, herald serve has %v", covered, want)
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	sort.Strings(c)
	return c
}

// composeFile is the part of deploy/compose.yaml the test reads.
type composeFile struct {
	Services map[string]struct {
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Build       struct {
			Context    string `yaml:"context"`
			Dockerfile string `yaml:"dockerfile"`
		} `yaml:"build"`
		Image string `yaml:"image"`
	} `yaml:"services"`
}

// The compose file runs one service per role of herald serve, sets only
// settings .env.sample describes, and builds from a Dockerfile that exists.
func TestComposeFileRunsEveryRole(t *testing.T) {
	b, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var f composeFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	known := settings(t)
	var covered []string
	for name, s := range f.Services {
		if s.Image != "herald:latest" {
			continue
		}
		if s.Build.Dockerfile != "" {
			if _, err := os.Stat(filepath.Join(s.Build.Context, s.Build.Dockerfile)); err != nil {
				t.Errorf("%s builds from %s: %v", name, s.Build.Dockerfile, err)
			}
		}
		for k := range s.Environment {
			if !known[k] {
				t.Errorf("%s sets %s, which .env.sample does not describe", name, k)
			}
		}
		if len(s.Environment) == 0 {
			t.Errorf("%s has no settings", name)
		}
		if len(s.Command) == 3 && s.Command[0] == "serve" && s.Command[1] == "--roles" {
			covered = append(covered, strings.Split(s.Command[2], ",")...)
		}
	}
	sort.Strings(covered)
	if want := roles(t, testenv.HeraldBinary(t)); !slices.Equal(slices.Compact(covered), sortedCopy(want)) {
		t.Errorf("the compose services run the roles %v, herald serve has %v", covered, want)
	}
}
