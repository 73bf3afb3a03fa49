package cli

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestFormatVersion(t *testing.T) {
	stamped := func(mainVersion string, settings ...string) *debug.BuildInfo {
		info := &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Path: "github.com/o365logfetch/o365logfetch", Version: mainVersion}}
		for i := 0; i+1 < len(settings); i += 2 {
			info.Settings = append(info.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return info
	}
	tests := []struct {
		name    string
		version string
		info    *debug.BuildInfo
		want    string
	}{
		{"release build with ldflags in a clean checkout", "v1.2.3",
			stamped("(devel)", "vcs.revision", "0123abc", "vcs.modified", "false"),
			"o365logfetch v1.2.3 (commit 0123abc, go1.26.1, linux/amd64)"},
		{"local changes are marked dirty", "v1.2.3",
			stamped("(devel)", "vcs.revision", "0123abc", "vcs.modified", "true"),
			"o365logfetch v1.2.3 (commit 0123abc-dirty, go1.26.1, linux/amd64)"},
		{"go install of a tagged module", "dev", stamped("v1.4.0"),
			"o365logfetch v1.4.0 (commit unknown, go1.26.1, linux/amd64)"},
		{"ldflags win over the module version", "v2.0.0-rc1", stamped("v1.4.0"),
			"o365logfetch v2.0.0-rc1 (commit unknown, go1.26.1, linux/amd64)"},
		{"built with -buildvcs=false", "dev", stamped("(devel)"),
			"o365logfetch dev (commit unknown, go1.26.1, linux/amd64)"},
		{"no build info at all", "dev", nil,
			"o365logfetch dev (commit unknown, " + runtime.Version() + ", linux/amd64)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatVersion(tt.version, tt.info, "linux/amd64"); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}
