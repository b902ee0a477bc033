package pkgcache

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cachebench/cachebench/measure"
	"github.com/cachebench/cachebench/results"
)

func TestTally(t *testing.T) {
	log := strings.Join([]string{
		`2026-11-28T10:00:00.000000000Z {"kind":"go","result":"fill","status":200,"bytes":100,"url":"https://proxy.golang.org/a"}`,
		`2026-11-28T10:00:05.000000000Z {"kind":"http","result":"hit","status":200,"bytes":2000,"url":"http://deb.debian.org/debian/dists/bookworm/InRelease"}`,
		`2026-11-28T10:00:06.000000000Z {"kind":"npm","result":"refused","status":404,"bytes":0,"url":"https://registry.npmjs.org/x"}`,
		`2026-11-28T10:00:07.000000000Z {"kind":"go","result":"pass","status":404,"bytes":10,"url":"https://proxy.golang.org/b"}`,
		`2026-11-28T10:00:08.000000000Z not a request line`,
		`2026-11-28T10:00:20.000000000Z {"kind":"go","result":"hit","status":200,"bytes":5,"url":"https://proxy.golang.org/c"}`,
		`2026-11-28T10:00:21.000000000Z {"kind":"http","result":"hit","status":200,"bytes":300,"url":"http://deb.debian.org/a","tag":"round-1"}`,
		`2026-11-28T10:00:22.000000000Z {"kind":"http","result":"hit","status":200,"bytes":400,"url":"http://deb.debian.org/b","tag":"round-2"}`,
	}, "\n")
	lines := measure.ParseTimestamped(log)
	at := func(s int) time.Time { return time.Date(2026, 11, 28, 10, 0, s, 0, time.UTC) }
	tests := []struct {
		name     string
		from, to time.Time
		tag      string
		want     results.PackageTraffic
	}{
		{"everything", at(0), at(30), "", results.PackageTraffic{Requests: 7, Hits: 4, Upstream: 2, Refused: 1, RefusedURLs: []string{"https://registry.npmjs.org/x"}, Bytes: 2815}},
		{"one run's window", at(4), at(10), "", results.PackageTraffic{Requests: 3, Hits: 1, Upstream: 1, Refused: 1, RefusedURLs: []string{"https://registry.npmjs.org/x"}, Bytes: 2010}},
		{"one round's tag, among others at the same time", at(0), at(30), "round-2", results.PackageTraffic{Requests: 1, Hits: 1, Bytes: 400}},
		{"nothing", at(23), at(30), "", results.PackageTraffic{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Tally(lines, tt.from, tt.to, tt.tag); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Tally = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestEnvPointsEveryManagerAtTheCache: without a tag and with one, every
// package manager goes to the cache, and the tag goes with each.
func TestEnvPointsEveryManagerAtTheCache(t *testing.T) {
	for tag, wants := range map[string][]string{
		"": {
			"http_proxy=http://packages.cachebench.svc.cluster.local",
			"no_proxy=packages.cachebench.svc.cluster.local",
			"GOPROXY=http://packages.cachebench.svc.cluster.local/_go ",
			"npm_config_registry=http://packages.cachebench.svc.cluster.local/",
		},
		"round-3": {
			"http_proxy=http://round-3@packages.cachebench.svc.cluster.local",
			"no_proxy=packages.cachebench.svc.cluster.local",
			"GOPROXY=http://packages.cachebench.svc.cluster.local/_t/round-3/_go ",
			"npm_config_registry=http://packages.cachebench.svc.cluster.local/_t/round-3/",
		},
	} {
		env := strings.Join(Env("cachebench", tag), " ")
		for _, want := range wants {
			if !strings.Contains(env+" ", want) {
				t.Errorf("Env with tag %q lacks %q: %s", tag, want, env)
			}
		}
	}
}
