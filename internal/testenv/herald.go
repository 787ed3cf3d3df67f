package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// HeraldBinary is the herald binary for tests that run it as a process:
// HERALD_BIN when set (make test builds bin/herald once and passes it),
// else one built from this tree into the system's temporary directory,
// once per test binary.
func HeraldBinary(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv("HERALD_BIN"); bin != "" {
		return bin
	}
	bin, err := buildHerald()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

var buildHerald = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "herald-test-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "herald")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/heraldmail/herald/cmd/herald").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/herald: %v\n%s", err, out)
	}
	return bin, nil
})
