package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X .../internal/cli.version=v1.2.3".
var version = "dev"

func versionString() string {
	info, _ := debug.ReadBuildInfo()
	return formatVersion(version, info, runtime.GOOS+"/"+runtime.GOARCH)
}

// formatVersion says which build this is. The -X version wins; without it, the module version
// of a `go install ...@vX` build. The commit comes from the VCS stamp Go adds to builds made in
// a checkout (absent with -buildvcs=false), marked dirty when the tree had local changes, so
// that a bug report names exactly what ran.
func formatVersion(version string, info *debug.BuildInfo, platform string) string {
	commit, goVersion := "unknown", runtime.Version()
	if info != nil {
		if info.GoVersion != "" {
			goVersion = info.GoVersion
		}
		if version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			version = info.Main.Version
		}
		var modified bool
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if modified && commit != "unknown" {
			commit += "-dirty"
		}
	}
	return fmt.Sprintf("o365logfetch %s (commit %s, %s, %s)", version, commit, goVersion, platform)
}
