package main

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is the release `make build` stamps into the binary:
// -ldflags "-X main.version=$(git describe --tags --always --dirty)".
// Empty in a plain `go build` or `go run`; see buildVersion.
var version string

var versionCommand = command{
	name:    "version",
	summary: "print Herald's version and the Go release it was built with",
	about: "The version is what `make build` stamped (git describe --tags --always --dirty); a binary\n" +
		"built otherwise shows the commit Go recorded (-dirty: with uncommitted changes), else \"devel\".",
	define: func(fs *flag.FlagSet) action {
		asJSON := fs.Bool("json", false, "print one JSON document: version, commit, Go release, platform")
		return func(_ context.Context, c *cli, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unexpected arguments %q", args)
			}
			bi, _ := debug.ReadBuildInfo()
			v := buildVersion(version, bi)
			if *asJSON {
				return writeJSON(c.out, v)
			}
			_, err := fmt.Fprintf(c.out, "herald %s (%s %s)\n", v.Version, v.Go, v.Platform)
			return err
		}
	},
}

// versionInfo is what `herald version` reports.
type versionInfo struct {
	Version  string `json:"version"`
	Revision string `json:"revision,omitempty"` // the commit, when Go recorded it
	Time     string `json:"time,omitempty"`     // the commit's time
	Modified bool   `json:"modified"`           // built with uncommitted changes
	Go       string `json:"go"`
	Platform string `json:"platform"` // GOOS/GOARCH
}

// buildVersion is the version stamped at build time or, without one, the
// commit bi records (12 hex digits, "-dirty" when modified), or "devel".
func buildVersion(stamped string, bi *debug.BuildInfo) versionInfo {
	v := versionInfo{Version: stamped, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi != nil {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Revision = s.Value
			case "vcs.time":
				v.Time = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	switch {
	case v.Version != "":
	case v.Revision != "":
		v.Version = v.Revision[:min(12, len(v.Revision))]
		if v.Modified {
			v.Version += "-dirty"
		}
	default:
		v.Version = "devel"
	}
	return v
}
