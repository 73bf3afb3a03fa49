//go:build unix

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// compareTransports runs the floor and the tool over each transport worth considering, at a
// nearby and a far latency, on half the 1x workload, and prints CPU and wall time of each.
// The tool's transport is chosen with GODEBUG=http2client (see the README's Performance).
func (b *bencher) compareTransports(base workload) error {
	base.blobs = max(1, base.blobs/2)
	base.http2 = true
	variants := []struct {
		name, floorProto string
		toolEnv          []string
	}{
		{"HTTP/2, 1 connection", "h2", []string{"GODEBUG=http2client=1"}},
		{"HTTP/1.1, 1 connection per worker", "h1", []string{"GODEBUG=http2client=0"}},
		{"HTTP/2, 4 connections", "h2x4", nil},
	}
	fmt.Printf("%-8s %-36s %-6s %8s %9s %9s %10s\n", "latency", "transport", "who", "wall s", "user s", "sys s", "peak RSS")
	var problems []string
	for _, lat := range []time.Duration{latency, farLatency} {
		for _, v := range variants {
			for _, who := range []string{"floor", "tool"} {
				if who == "tool" && v.toolEnv == nil {
					continue // the tool has no such transport; the floor shows what it would gain
				}
				w := base.named(fmt.Sprintf("%s %s", lat, v.floorProto))
				w.latency, w.floorProto, w.toolEnv = lat, v.floorProto, v.toolEnv
				r, err := b.run(w, who, unpaced)
				if err != nil {
					problems = append(problems, r.name+": "+err.Error())
				}
				fmt.Printf("%-8s %-36s %-6s %8.2f %9.2f %9.2f %10s\n", lat, v.name, who, r.wall.Seconds(), r.user.Seconds(), r.sys.Seconds(), mib(r.maxRSS))
			}
		}
	}
	fmt.Println()
	if len(problems) > 0 {
		return fmt.Errorf("%d problem(s):\n  %s", len(problems), strings.Join(problems, "\n  "))
	}
	fmt.Println("every record exactly once in every tool run")
	return nil
}

// capturedSizes returns the sizes of the JSON records, one a line, in the *.ndjson and *.log
// files of dir (none when dir is absent), and how many files held some.
func capturedSizes(dir string) (sizes []int, files int) {
	var paths []string
	for _, pattern := range []string{"*.ndjson", "*.log"} {
		m, _ := filepath.Glob(filepath.Join(dir, pattern))
		paths = append(paths, m...)
	}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		found := false
		for sc.Scan() {
			line := bytes.TrimSpace(sc.Bytes())
			var rec map[string]json.RawMessage
			if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &rec) != nil {
				continue
			}
			sizes = append(sizes, len(line))
			found = true
		}
		f.Close()
		if found {
			files++
		}
	}
	return sizes, files
}

// loadAverage is the first three fields of /proc/loadavg: how busy the shared machine was.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(data))[:3], " ")
}
