package bench

import (
	"context"
	"flag"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/cachebench/cachebench/builders"
	"github.com/cachebench/cachebench/cluster"
	"github.com/cachebench/cachebench/cluster/network"
	"github.com/cachebench/cachebench/cluster/registry"
	"github.com/cachebench/cachebench/images"
	"github.com/cachebench/cachebench/measure"
	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/scenarios"
)

func testMatrix(t *testing.T, names ...string) Matrix {
	t.Helper()
	ws, err := scenarios.SelectWorkloads([]string{"small"})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		names = []string{"kaniko"}
	}
	bs, err := NewBuilders(names, builders.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	return Matrix{Workloads: ws, Networks: []network.Profile{{Name: network.Local}}, Builders: bs, Strategies: builders.DefaultStrategyNames(bs[0])}
}

func TestPlanInterleavesWarmRuns(t *testing.T) {
	plan := Plan(testMatrix(t), 2, 2)
	if len(plan) != 2*3*(1+2) {
		t.Fatalf("%d planned runs, want 18", len(plan))
	}
	names := runNames(plan[:9])
	want := []string{
		"none/kaniko/small/local/r1-cold", "registry/kaniko/small/local/r1-cold", "pv-warm/kaniko/small/local/r1-cold",
		"none/kaniko/small/local/r1-warm1", "registry/kaniko/small/local/r1-warm1", "pv-warm/kaniko/small/local/r1-warm1",
		"none/kaniko/small/local/r1-warm2", "registry/kaniko/small/local/r1-warm2", "pv-warm/kaniko/small/local/r1-warm2",
	}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("plan\n%v\nwant\n%v", names, want)
	}
	if plan[9].Round != 2 || plan[9].Cache != results.Cold {
		t.Errorf("round 2 must start cold: %+v", plan[9])
	}
}

// Network profiles are a dimension of the plan: each strategy's runs under
// local, then under wan, cold runs before warm ones.
func TestPlanCrossesNetworks(t *testing.T) {
	m := testMatrix(t, "kaniko")
	m.Strategies = []string{"none", "registry"}
	wan, _ := network.Parse("30ms/100mbit")
	m.Networks = append(m.Networks, wan)
	names := runNames(Plan(m, 1, 1))
	want := []string{
		"none/kaniko/small/local/r1-cold", "registry/kaniko/small/local/r1-cold",
		"none/kaniko/small/30ms-100mbit/r1-cold", "registry/kaniko/small/30ms-100mbit/r1-cold",
		"none/kaniko/small/local/r1-warm1", "registry/kaniko/small/local/r1-warm1",
		"none/kaniko/small/30ms-100mbit/r1-warm1", "registry/kaniko/small/30ms-100mbit/r1-warm1",
	}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("plan\n%v\nwant\n%v", names, want)
	}
	if m.Rows() != 8 {
		t.Errorf("%d rows, want 8 (2 networks x 2 strategies x cold, warm)", m.Rows())
	}
}

// Builders interleave within each strategy, and their order turns every
// round; each step carries its builder's own strategy.
// runNames are the planned runs' test names, in order.
func runNames(planned []PlannedRun) []string {
	var names []string
	for _, s := range planned {
		names = append(names, s.Name())
	}
	return names
}

// Each workload is measured under the named changes it can take, one
// after the other, each with its cold runs first; the default change is
// not named in a step's name, any other is.
func TestPlanCrossesChanges(t *testing.T) {
	m := testMatrix(t, "kaniko")
	ws, err := scenarios.SelectWorkloads([]string{"small", "gobuild"})
	if err != nil {
		t.Fatal(err)
	}
	m.Workloads, m.Strategies = ws, []string{"registry"}
	m.Changes = []scenarios.Change{scenarios.ChangeSource, scenarios.ChangeDeps, scenarios.ChangeStamp}
	names := runNames(Plan(m, 1, 1))
	want := []string{
		"registry/kaniko/small+source/local/r1-cold", "registry/kaniko/small+source/local/r1-warm1",
		"registry/kaniko/gobuild+source/local/r1-cold", "registry/kaniko/gobuild+source/local/r1-warm1",
		"registry/kaniko/gobuild+deps/local/r1-cold", "registry/kaniko/gobuild+deps/local/r1-warm1",
		"registry/kaniko/gobuild/local/r1-cold", "registry/kaniko/gobuild/local/r1-warm1",
	}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("plan\n%v\nwant\n%v", names, want)
	}
	if m.Rows() != 8 {
		t.Errorf("%d rows, want 8 (small: source; gobuild: source, deps, stamp; cold and warm)", m.Rows())
	}
	skipped := m.Skipped()
	if len(skipped) != 2 || !strings.Contains(skipped[0], "--change deps is not measured for small") || !strings.Contains(skipped[1], "--change stamp is not measured for small") {
		t.Errorf("skipped %q", skipped)
	}
}

func TestPlanInterleavesBuilders(t *testing.T) {
	plan := Plan(testMatrix(t, "kaniko", "buildkit", "buildah"), 2, 1)
	if len(plan) != 2*3*3*2 {
		t.Fatalf("%d planned runs, want 36", len(plan))
	}
	r1, r2 := runNames(plan[:3]), runNames(plan[18:21])
	want1 := "none/kaniko/small/local/r1-cold none/buildkit/small/local/r1-cold none/buildah/small/local/r1-cold"
	want2 := "none/buildkit/small/local/r2-cold none/buildah/small/local/r2-cold none/kaniko/small/local/r2-cold"
	if strings.Join(r1, " ") != want1 || strings.Join(r2, " ") != want2 {
		t.Errorf("round 1 %v, round 2 %v; want %s and %s", r1, r2, want1, want2)
	}
	for _, s := range plan {
		if s.Strategy.Name == "pv-warm" && s.Builder.Name() != "kaniko" && !s.Strategy.VolumeLayers {
			t.Errorf("%s: %s's own pv-warm keeps layers on its volume", s.Name(), s.Builder.Name())
		}
	}
}

func TestStepNamesSelectByStrategy(t *testing.T) {
	// go test -run Cache/registry matches the first element of the subtest name.
	for _, s := range Plan(testMatrix(t), 1, 1) {
		if first, _, _ := strings.Cut(s.Name(), "/"); first != s.Strategy.Name {
			t.Errorf("%s does not start with its strategy", s.Name())
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	os.WriteFile(kubeconfig, []byte("apiVersion: v1\n"), 0o600)
	app := filepath.Join(t.TempDir(), "app")
	os.MkdirAll(app, 0o755)
	os.WriteFile(filepath.Join(app, "Dockerfile"), []byte("ARG BASE=debian:bookworm\nFROM $BASE\n"), 0o644)
	tests := []struct {
		name   string
		change func(*Options)
		want   []string // substrings of the error; none means valid
	}{
		{"defaults", func(*Options) {}, nil},
		{"bad workload", func(o *Options) { o.Workloads = []string{"huge"} }, []string{"--workloads (CACHEBENCH_WORKLOADS)", `"huge"`, "small"}},
		{"a workload directory", func(o *Options) { o.WorkloadDirs = []string{app}; o.BuildArgs = []string{"BASE=debian:12"} }, nil},
		{"no such workload directory", func(o *Options) { o.WorkloadDirs = []string{app + "x"} }, []string{"--workload-dir (CACHEBENCH_WORKLOAD_DIR)", app + "x"}},
		{"the same name twice", func(o *Options) { o.WorkloadDirs = []string{app, "app=" + app} }, []string{"--workload-dir", `both named "app"`}},
		{"a Dockerfile without a workload directory", func(o *Options) { o.Dockerfile = "x/Dockerfile" }, []string{"--dockerfile (CACHEBENCH_DOCKERFILE)", "give a --workload-dir"}},
		{"a bad build argument", func(o *Options) { o.WorkloadDirs = []string{app}; o.BuildArgs = []string{"BASE"} }, []string{"--workload-dir", "KEY=VALUE"}},
		{"change patterns", func(o *Options) {
			o.Workloads = []string{"gobuild", "small"}
			o.Changes = []string{"source", "deps", "base"}
		}, nil},
		{"bad change", func(o *Options) { o.Changes = []string{"source", "commit"} }, []string{"--change (CACHEBENCH_CHANGE)", `"commit"`, "none, stamp, source, deps, base"}},
		{"a change no workload can take", func(o *Options) { o.Workloads = []string{"small"}; o.Changes = []string{"deps", "stamp"} }, []string{"--change", "workload small can take none of deps,stamp", "no dependency manifest", "no stamp build argument"}},
		{"deps of a workload directory", func(o *Options) {
			o.WorkloadDirs = []string{app}
			o.BuildArgs = []string{"BASE=debian:12"}
			o.Changes = []string{"deps"}
		}, []string{"--change", "workload app can take none of deps", "--deps-file"}},
		{"a deps file", func(o *Options) {
			o.WorkloadDirs = []string{app}
			o.BuildArgs = []string{"BASE=debian:12"}
			o.DepsFile, o.Changes = "Dockerfile", []string{"deps"}
		}, nil},
		{"a missing source file", func(o *Options) {
			o.WorkloadDirs = []string{app}
			o.BuildArgs = []string{"BASE=debian:12"}
			o.SourceFile = "main.go"
		}, []string{"--workload-dir", "--source-file main.go: no such file"}},
		{"a source file without a workload directory", func(o *Options) { o.SourceFile = "main.go" }, []string{"--source-file (CACHEBENCH_SOURCE_FILE)", "give a --workload-dir"}},
		{"bad strategy", func(o *Options) { o.Strategies = []string{"s3"} }, []string{"--strategies", `"s3"`, "pv-warm"}},
		{"bad network", func(o *Options) { o.Networks = []string{"local", "moon"} }, []string{"--network (CACHEBENCH_NETWORK)", `"moon"`, "local, lan, wan", "30ms/100mbit"}},
		{"network twice", func(o *Options) { o.Networks = []string{"wan", "wan"} }, []string{"--network", "twice"}},
		{"bad cache network", func(o *Options) { o.CacheNetwork = "30ms" }, []string{"--cache-network (CACHEBENCH_CACHE_NETWORK)", `"30ms"`}},
		{"bad start", func(o *Options) { o.Start = "webhook" }, []string{"--start (CACHEBENCH_START)", `"webhook"`, "api or trigger"}},
		{"custom networks", func(o *Options) { o.Networks, o.CacheNetwork = []string{"local", "80ms+-10ms/20mbit"}, "lan" }, nil},
		{"bad builder", func(o *Options) { o.Builders = []string{"kaniko", "podman"} }, []string{"--builders (CACHEBENCH_BUILDERS)", `"podman"`, "buildkit, buildah, docker"}},
		{"no builder", func(o *Options) { o.Builders = nil }, []string{"--builders", "empty"}},
		{"builder twice", func(o *Options) { o.Builders = []string{"buildah", "buildah"} }, []string{"--builders", "twice"}},
		{"negative warm runs", func(o *Options) { o.WarmRuns = -1 }, []string{"--warm-runs (CACHEBENCH_WARM_RUNS): -1"}},
		{"two nodes", func(o *Options) { o.Nodes = 2 }, nil},
		{"no node", func(o *Options) { o.Nodes = 0 }, []string{"--nodes (CACHEBENCH_NODES): 0: want 1 to 8"}},
		{"too many nodes", func(o *Options) { o.Nodes = 9 }, []string{"--nodes", "9: want 1 to 8"}},
		{"a volume per node on one node", func(o *Options) { o.CacheVolume = VolumePerNode }, []string{"--cache-volume (CACHEBENCH_CACHE_VOLUME)", "per-node needs builds on several nodes", "--nodes 2"}},
		{"a bad place for volumes", func(o *Options) { o.Nodes, o.CacheVolume = 2, "per-build" }, []string{"--cache-volume", `"per-build"`, "per-round, per-node or shared"}},
		{"a daemon for builders without one", func(o *Options) {
			o.Builders, o.Strategies = []string{"buildkit", "kaniko"}, []string{"registry", "daemon"}
		}, []string{"--strategies (CACHEBENCH_STRATEGIES)", "daemon: builder kaniko has no daemon", "the builders with one: buildkit, docker"}},
		{"a daemon", func(o *Options) { o.Builders, o.Strategies = []string{"buildkit"}, []string{"none", "daemon"} }, nil},
		{"a soak", func(o *Options) {
			o.Builders, o.Strategies, o.Soak, o.GCLimit, o.Changes = []string{"buildkit"}, []string{"daemon"}, 30, "300Mi", []string{"source"}
		}, nil},
		{"a soak beside other strategies", func(o *Options) {
			o.Builders, o.Strategies, o.Soak = []string{"buildkit"}, []string{"none", "daemon"}, 30
		}, []string{"--soak (CACHEBENCH_SOAK)", "give --strategies daemon alone (now none,daemon)"}},
		{"a soak of one build", func(o *Options) { o.Builders, o.Strategies, o.Soak = []string{"buildkit"}, []string{"daemon"}, 1 }, []string{"--soak", "1: want 2 to 1000 builds"}},
		{"a soak of rounds", func(o *Options) {
			o.Builders, o.Strategies, o.Soak, o.Rounds = []string{"buildkit"}, []string{"daemon"}, 30, 3
		}, []string{"--soak", "one round of 30 builds: drop --rounds 3"}},
		{"a soak with its own warm runs", func(o *Options) {
			o.Builders, o.Strategies, o.Soak, o.WarmRuns = []string{"buildkit"}, []string{"daemon"}, 30, 5
		}, []string{"--soak", "sets the warm runs (29 after the cold one): drop --warm-runs 5"}},
		{"a soak of builds at once", func(o *Options) {
			o.Builders, o.Strategies, o.Soak, o.Concurrency = []string{"buildkit"}, []string{"daemon"}, 30, []int{1, 2}
		}, []string{"--soak", "one at a time: drop --concurrency 1,2"}},
		{"a gc limit without daemons", func(o *Options) {
			o.Builders, o.Strategies, o.GCLimit = []string{"buildkit"}, []string{"registry"}, "1Gi"
		}, []string{"--gc-limit (CACHEBENCH_GC_LIMIT)", "add daemon to --strategies"}},
		{"a gc limit that is no size", func(o *Options) {
			o.Builders, o.Strategies, o.GCLimit = []string{"buildkit"}, []string{"daemon"}, "lots"
		}, []string{"--gc-limit", `"lots": want a size, e.g. 500Mi`}},
		{"a gc limit too small", func(o *Options) {
			o.Builders, o.Strategies, o.GCLimit = []string{"buildkit"}, []string{"daemon"}, "1Mi"
		}, []string{"--gc-limit", "1Mi: want at least 10Mi"}},
		{"daemons spread", func(o *Options) {
			o.Builders, o.Strategies, o.Daemons, o.Placement = []string{"buildkit"}, []string{"daemon"}, 3, PlacementSpread
		}, nil},
		{"daemons without the daemon strategy", func(o *Options) {
			o.Builders, o.Strategies, o.Daemons = []string{"buildkit"}, []string{"registry"}, 2
		}, []string{"--daemons (CACHEBENCH_DAEMONS)", "add daemon to --strategies"}},
		{"no daemon", func(o *Options) { o.Builders, o.Strategies, o.Daemons = []string{"buildkit"}, []string{"daemon"}, 0 }, []string{"--daemons", "0: want 1 to 8"}},
		{"a soak that follows a mix", func(o *Options) {
			o.Builders, o.Strategies, o.Soak, o.Decision.Mix = []string{"buildkit"}, []string{"daemon"}, 20, "source=7,base=2,none=1"
		}, nil},
		{"a soak that follows a mix and a change", func(o *Options) {
			o.Builders, o.Strategies, o.Soak, o.Decision.Mix, o.Changes = []string{"buildkit"}, []string{"daemon"}, 20, "source=7,base=3", []string{"source", "base"}
		}, []string{"--change (CACHEBENCH_CHANGE)", "a soak's commits follow --mix (source 70%, base 30%) when it is given: drop --change source,base"}},
		{"a soak that follows a mix of stamps", func(o *Options) {
			o.Workloads, o.Builders, o.Strategies, o.Soak, o.Decision.Mix = []string{"gobuild"}, []string{"buildkit"}, []string{"daemon"}, 20, "source=7,stamp=3"
		}, []string{"--mix (CACHEBENCH_MIX)", "a stamp is a new build argument on the same commit, not a commit: leave stamp out"}},
		{"a soak that follows a mix its workload cannot take", func(o *Options) {
			o.Builders, o.Strategies, o.Soak, o.Decision.Mix = []string{"buildkit"}, []string{"daemon"}, 20, "source=7,deps=3"
		}, []string{"--mix", "workload small cannot take deps", "leave deps out, or the workload"}},
		{"a soak that follows a mix with a weight 0", func(o *Options) {
			o.Builders, o.Strategies, o.Soak, o.Decision.Mix = []string{"buildkit"}, []string{"daemon"}, 20, "source=1,none=0"
		}, []string{"--mix", "none has weight 0: leave it out"}},
		{"a soak too short for its mix", func(o *Options) {
			o.Builders, o.Strategies, o.Soak, o.Decision.Mix = []string{"buildkit"}, []string{"daemon"}, 6, "source=95,base=5"
		}, []string{"--mix", "a soak of 6 builds makes no base change at its share (source 95%, base 5%): give --soak 12 or more"}},
		{"daemons in a soak", func(o *Options) {
			o.Builders, o.Strategies, o.Soak, o.Daemons = []string{"buildkit"}, []string{"daemon"}, 30, 2
		}, []string{"--daemons", "a soak goes through one daemon: drop --daemons 2"}},
		{"a placement that is none", func(o *Options) {
			o.Builders, o.Strategies, o.Daemons, o.Placement = []string{"buildkit"}, []string{"daemon"}, 2, "random"
		}, []string{"--placement (CACHEBENCH_PLACEMENT)", `"random": choose sticky or spread`}},
		{"a placement of one daemon", func(o *Options) {
			o.Builders, o.Strategies, o.Placement = []string{"buildkit"}, []string{"daemon"}, PlacementSpread
		}, []string{"--placement", "give --daemons 2 or more"}},
		{"a shared volume on one node", func(o *Options) { o.CacheVolume = VolumeShared }, []string{"--cache-volume", "shared needs builds on several nodes", "--nodes 2"}},
		{"nodes of an existing cluster", func(o *Options) { o.Kubeconfig, o.ImageRegistry, o.Nodes = kubeconfig, "r.example/cb", 2 }, []string{"--nodes", "only applies to kind clusters", "drop it"}},
		{"concurrency levels", func(o *Options) { o.Concurrency, o.Arrival = []int{1, 4, 2}, "poisson:6" }, nil},
		{"no concurrency level", func(o *Options) { o.Concurrency = nil }, []string{"--concurrency (CACHEBENCH_CONCURRENCY): empty"}},
		{"concurrency 0", func(o *Options) { o.Concurrency = []int{0} }, []string{"--concurrency", "0: each level is 1 to 32 builds at once"}},
		{"concurrency too high", func(o *Options) { o.Concurrency = []int{1, 33} }, []string{"--concurrency", "33: each level is 1 to 32"}},
		{"concurrency twice", func(o *Options) { o.Concurrency = []int{2, 2} }, []string{"--concurrency", "2 is named twice"}},
		{"concurrency pushed", func(o *Options) { o.Concurrency, o.Start = []int{1, 2}, results.StartTrigger }, nil},
		{"concurrency without warm runs", func(o *Options) { o.Concurrency, o.WarmRuns = []int{2}, 0 }, []string{"--concurrency", "--warm-runs 0"}},
		{"bad arrival", func(o *Options) { o.Concurrency, o.Arrival = []int{2}, "steady" }, []string{"--arrival (CACHEBENCH_ARRIVAL)", `"steady": want burst, or poisson:RATE`}},
		{"arrival rate 0", func(o *Options) { o.Concurrency, o.Arrival = []int{2}, "poisson:0" }, []string{"--arrival", "RATE must be a number of builds a minute above 0"}},
		{"arrival alone", func(o *Options) { o.Arrival = "poisson:6" }, []string{"--arrival", "give --concurrency above 1"}},
		{"negative rounds", func(o *Options) { o.Rounds = -1 }, []string{"--rounds"}},
		{"precision out of range", func(o *Options) { o.Precision = 1.5 }, []string{"--precision (CACHEBENCH_PRECISION)", "150.0%"}},
		{"budget too small", func(o *Options) { o.Budget = time.Minute }, []string{"--budget", "5m"}},
		{"fixed rounds ignore the precision", func(o *Options) { o.Rounds, o.Precision = 2, 0 }, nil},
		{"short timeout", func(o *Options) { o.RunTimeout = time.Second }, []string{"--run-timeout", "1m"}},
		{"bad run id", func(o *Options) { o.RunID = "My Run" }, []string{"--run-id", "lower-case"}},
		{"reserved run id", func(o *Options) { o.RunID = "trend" }, []string{"--run-id", "reserved"}},
		{"negative stop after", func(o *Options) { o.StopAfterFailures = -1 }, []string{"--stop-after-failures (CACHEBENCH_STOP_AFTER_FAILURES)"}},
		{"bad images", func(o *Options) { o.Images = "cloud" }, []string{"--images", "auto, online or offline"}},
		{"missing kubeconfig", func(o *Options) { o.Kubeconfig = "/nonexistent/kubeconfig" }, []string{"--kubeconfig"}},
		{"reuse with kubeconfig", func(o *Options) { o.Kubeconfig = kubeconfig; o.Reuse = true; o.ImageRegistry = "registry.example/cb" }, []string{"--reuse"}},
		{"kubeconfig without an image registry", func(o *Options) { o.Kubeconfig = kubeconfig }, []string{"--kubeconfig", "--image-registry REGISTRY (CACHEBENCH_IMAGE_REGISTRY)"}},
		{"node image with kubeconfig", func(o *Options) {
			o.Kubeconfig = kubeconfig
			o.ImageRegistry = "registry.example/cb"
			o.NodeImage = "kindest/node:v1.34.11"
		}, []string{"--node-image", "drop it"}},
		{"kubeconfig with an image registry", func(o *Options) { o.Kubeconfig = kubeconfig; o.ImageRegistry = "registry.example/cb" }, nil},
		{"bad build ca", func(o *Options) { o.BuildCA = kubeconfig }, []string{"--build-ca", "no PEM"}},
		{"registry mirror without a URL", func(o *Options) { o.RegistryMirrors = []string{"docker.io"} }, []string{"--registry-mirror (CACHEBENCH_REGISTRY_MIRROR)", "HOST=URL"}},
		{"registry mirror without a scheme", func(o *Options) { o.RegistryMirrors = []string{"docker.io=10.0.0.1:5000"} }, []string{"--registry-mirror", "http://"}},
		{"registry mirror without a host", func(o *Options) { o.RegistryMirrors = []string{"docker.io=http://:5101"} }, []string{"--registry-mirror", "names no host"}},
		{"registry mirrors", func(o *Options) {
			o.RegistryMirrors = []string{"docker.io=http://10.0.0.1:5000", "quay.io=https://mirror.example"}
		}, nil},
		{"a commit mix", func(o *Options) {
			o.Changes, o.Decision.Mix, o.Decision.Current = []string{"none", "source", "base"}, "source=70,base=20,none=10", "kaniko/none"
		}, nil},
		{"a mix that is not numbers", func(o *Options) { o.Decision.Mix = "source=most" }, []string{"--mix", `"most"`, "source=70"}},
		{"a mix of an unknown pattern", func(o *Options) { o.Decision.Mix = "refactor=1" }, []string{"--mix (CACHEBENCH_MIX)", `"refactor"`, "none, stamp, source"}},
		{"a mix of a pattern not measured", func(o *Options) { o.Changes, o.Decision.Mix = []string{"source"}, "source=1,base=1" }, []string{"--mix (CACHEBENCH_MIX)", "base is not measured for small", "--change (now source)"}},
		{"a mix of weights summing to zero", func(o *Options) { o.Decision.Mix = "none=0" }, []string{"--mix", "sum to zero"}},
		{"an unknown constraint", func(o *Options) { o.Decision.Allow = []string{"root"} }, []string{"--allow", `"root"`, "registry-writes"}},
		{"a current row not measured", func(o *Options) { o.Builders, o.Decision.Current = []string{"kaniko"}, "buildah/none" }, []string{"--current (CACHEBENCH_CURRENT)", "add buildah to --builders"}},
		{"a current strategy not measured", func(o *Options) { o.Strategies, o.Decision.Current = []string{"none"}, "kaniko/registry" }, []string{"--current", "add registry to --strategies (now none)"}},
		{"a negative price", func(o *Options) { o.Decision.Prices.EgressGB = -1 }, []string{"--price-egress-gb", "0 or more"}},
		{"two errors at once", func(o *Options) { o.WarmRuns, o.Rounds = -2, -1 }, []string{"--warm-runs", "--rounds"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Defaults()
			tt.change(&o)
			err := o.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want an error mentioning %v", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestApplyEnv(t *testing.T) {
	o := Defaults()
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	o.AddFlags(fs)
	t.Setenv("CACHEBENCH_WARM_RUNS", "7")
	t.Setenv("CACHEBENCH_WORKLOADS", "gobuild, small")
	t.Setenv("CACHEBENCH_KEEP", "true")
	if err := ApplyEnv(fs); err != nil {
		t.Fatal(err)
	}
	if o.WarmRuns != 7 || !o.Keep || strings.Join(o.Workloads, ",") != "gobuild,small" {
		t.Fatalf("options from env: %+v", o)
	}
	t.Setenv("CACHEBENCH_RUN_TIMEOUT", "soon")
	err := ApplyEnv(fs)
	if err == nil || !strings.Contains(err.Error(), "CACHEBENCH_RUN_TIMEOUT") || !strings.Contains(err.Error(), "--run-timeout") {
		t.Fatalf("want an error naming the variable and the flag, got %v", err)
	}
}

func TestCheckCacheUse(t *testing.T) {
	m := testMatrix(t, "kaniko", "buildkit")
	small := m.Workloads[0]
	kaniko, buildkit := m.Builders[0], m.Builders[1]
	ss := kaniko.Strategies()
	none, registry, pv := ss[0], ss[1], ss[2]
	bkPV := buildkit.Strategies()[2]
	type checkCase struct {
		name     string
		builder  builders.Builder
		strategy builders.Strategy
		phase    results.CacheState
		k        results.BuildLog
		problems int
		change   scenarios.Change
	}
	tests := []checkCase{
		{"none clean", kaniko, none, results.Warm, results.BuildLog{Read: true}, 0, ""},
		{"none with hits", kaniko, none, results.Warm, results.BuildLog{Read: true, CacheHits: 1}, 1, ""},
		{"registry cold", kaniko, registry, results.Cold, results.BuildLog{Read: true, CacheMisses: 1}, 0, ""},
		{"registry cold with hits", kaniko, registry, results.Cold, results.BuildLog{Read: true, CacheHits: 1, CacheMisses: 1}, 1, ""},
		{"registry cold no lookups", kaniko, registry, results.Cold, results.BuildLog{Read: true}, 1, ""},
		{"registry warm", kaniko, registry, results.Warm, results.BuildLog{Read: true, CacheHits: 1}, 0, ""},
		{"registry warm no hits", kaniko, registry, results.Warm, results.BuildLog{Read: true, CacheMisses: 1}, 1, ""},
		{"pv-warm cold", kaniko, pv, results.Cold, results.BuildLog{Read: true, CacheMisses: 1, LocalCacheHits: 1}, 0, ""},
		{"pv-warm warm without volume hits", kaniko, pv, results.Warm, results.BuildLog{Read: true, CacheHits: 1}, 1, ""},
		{"pv-warm warm", kaniko, pv, results.Warm, results.BuildLog{Read: true, CacheHits: 1, LocalCacheHits: 2}, 0, ""},
		// BuildKit's volume is its state directory: layers stay there.
		{"volume layers cold", buildkit, bkPV, results.Cold, results.BuildLog{Read: true, CacheMisses: 3, LocalCacheHits: 1}, 0, ""},
		{"volume layers cold with hits", buildkit, bkPV, results.Cold, results.BuildLog{Read: true, CacheHits: 2, CacheMisses: 1, LocalCacheHits: 1}, 1, ""},
		{"volume layers warm", buildkit, bkPV, results.Warm, results.BuildLog{Read: true, CacheHits: 2, CacheMisses: 1, LocalCacheHits: 1}, 0, ""},
		{"volume layers warm no hits", buildkit, bkPV, results.Warm, results.BuildLog{Read: true, CacheMisses: 3, LocalCacheHits: 1}, 1, ""},
		{"volume layers cold without the base", buildkit, bkPV, results.Cold, results.BuildLog{Read: true, CacheMisses: 3}, 1, ""},
		// Every instruction cached: BuildKit never loads the base image.
		{"volume layers warm, all cached", buildkit, bkPV, results.Warm, results.BuildLog{Read: true, CacheHits: 2}, 0, ""},
		// A change of the build's inputs may leave nothing cached that the
		// builder looks up (judged per instruction instead); a new base
		// digest is not on the volume.
		{"registry warm no hits after a source change", kaniko, registry, results.Warm, results.BuildLog{Read: true, CacheMisses: 1}, 0, scenarios.ChangeSource},
		{"registry warm no hits after a stamp", kaniko, registry, results.Warm, results.BuildLog{Read: true, CacheMisses: 1}, 1, scenarios.ChangeStamp},
		{"pv-warm warm after a base change", kaniko, pv, results.Warm, results.BuildLog{Read: true, CacheMisses: 1}, 0, scenarios.ChangeBase},
		{"pv-warm warm without volume hits after a source change", kaniko, pv, results.Warm, results.BuildLog{Read: true, CacheHits: 1}, 1, scenarios.ChangeSource},
		{"pv-warm cold after a base change still checks the volume", kaniko, pv, results.Cold, results.BuildLog{Read: true, CacheMisses: 1}, 1, scenarios.ChangeBase},
	}
	// A warm build on a node whose volume no build of its round used
	// (a volume per node) finds the bases there, and no layers.
	coldVolume := []checkCase{
		{"cold volume, volume layers", buildkit, bkPV, results.Warm, results.BuildLog{Read: true, CacheMisses: 3, LocalCacheHits: 1}, 0, ""},
		{"cold volume with layer hits", buildkit, bkPV, results.Warm, results.BuildLog{Read: true, CacheHits: 2, CacheMisses: 1, LocalCacheHits: 1}, 1, ""},
		{"cold volume without the base", buildkit, bkPV, results.Warm, results.BuildLog{Read: true, CacheMisses: 3}, 1, ""},
		{"cold volume after a base change", buildkit, bkPV, results.Warm, results.BuildLog{Read: true, CacheMisses: 3}, 0, scenarios.ChangeBase},
		// kaniko's volume holds bases only, warmed on every node alike.
		{"cold volume, kaniko", kaniko, pv, results.Warm, results.BuildLog{Read: true, CacheHits: 1, LocalCacheHits: 1}, 0, ""},
	}
	check := func(tt checkCase, coldVolume bool) {
		t.Run(tt.name, func(t *testing.T) {
			plannedRun := PlannedRun{Workload: small, Change: tt.change, Builder: tt.builder, Strategy: tt.strategy, Cache: tt.phase}
			got := CheckCacheUse(plannedRun, results.Run{Coordinates: results.Coordinates{Cache: tt.phase}, Success: true, BuildLog: tt.k, ColdVolume: coldVolume})
			if len(got) != tt.problems {
				t.Fatalf("problems = %q, want %d", got, tt.problems)
			}
		})
	}
	for _, tt := range tests {
		check(tt, false)
	}
	for _, tt := range coldVolume {
		check(tt, true)
	}
}

// A warm build on a daemon that no build of its round had used (--daemons
// spread) finds nothing cached there, as a cold build does.
func TestCheckFreshDaemon(t *testing.T) {
	m := testMatrix(t, "buildkit")
	daemon, err := builders.SelectStrategies(m.Builders[0], []string{builders.DaemonName})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		fresh    bool
		k        results.BuildLog
		problems int
	}{
		{"fresh daemon, nothing cached", true, results.BuildLog{Read: true, CacheMisses: 2}, 0},
		{"fresh daemon with hits", true, results.BuildLog{Read: true, CacheHits: 2, CacheMisses: 1}, 1},
		{"used daemon, nothing cached", false, results.BuildLog{Read: true, CacheMisses: 2}, 1},
		{"used daemon", false, results.BuildLog{Read: true, CacheHits: 2}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := PlannedRun{Workload: m.Workloads[0], Builder: m.Builders[0], Strategy: daemon[0], Cache: results.Warm, Attempt: 1}
			got := CheckCacheUse(s, results.Run{Coordinates: results.Coordinates{Cache: results.Warm}, Success: true, BuildLog: tt.k, Daemon: 2, ColdDaemon: tt.fresh})
			if len(got) != tt.problems {
				t.Fatalf("problems = %q, want %d", got, tt.problems)
			}
		})
	}
}

// Spread sends the round's builds to its daemons in turn, the cold build
// to the first, each build of a warm run at a level to the next; sticky
// sends a workload's every build to one daemon.
func TestDaemonIndex(t *testing.T) {
	m := testMatrix(t, "buildkit")
	w := m.Workloads[0]
	cold := PlannedRun{Workload: w, Cache: results.Cold}
	warm := func(attempt, level, member int) PlannedRun {
		return PlannedRun{Workload: w, Cache: results.Warm, Attempt: attempt, Concurrency: level, Member: member}
	}
	var got []int
	for _, s := range []PlannedRun{cold, warm(1, 1, 0), warm(2, 1, 0), warm(3, 1, 0), warm(4, 1, 0)} {
		got = append(got, daemonIndex(s, 3, PlacementSpread))
	}
	if want := []int{0, 1, 2, 0, 1}; !slices.Equal(got, want) {
		t.Errorf("spread over 3, one build at a time: %v, want %v", got, want)
	}
	got = nil
	for _, s := range []PlannedRun{cold, warm(1, 2, 1), warm(1, 2, 2), warm(2, 2, 1), warm(2, 2, 2)} {
		got = append(got, daemonIndex(s, 3, PlacementSpread))
	}
	if want := []int{0, 1, 2, 0, 1}; !slices.Equal(got, want) {
		t.Errorf("spread over 3, two builds at once: %v, want %v", got, want)
	}
	sticky := daemonIndex(cold, 3, PlacementSticky)
	for _, s := range []PlannedRun{warm(1, 1, 0), warm(2, 2, 1), warm(2, 2, 2)} {
		if i := daemonIndex(s, 3, PlacementSticky); i != sticky {
			t.Errorf("sticky: %+v went to daemon %d, the cold build to %d", s, i, sticky)
		}
	}
	other := PlannedRun{Workload: scenarios.Workload{Name: "another"}, Cache: results.Cold}
	if i := daemonIndex(other, 1000, PlacementSticky); i == daemonIndex(cold, 1000, PlacementSticky) {
		t.Errorf("sticky: two workloads share daemon %d of 1000", i)
	}
	if i := daemonIndex(warm(3, 1, 0), 1, PlacementSpread); i != 0 {
		t.Errorf("one daemon: build went to %d", i)
	}
}

// The mirror is judged from the registries' traffic: pulled through, it
// fills itself from upstream when cold and spares upstream when warm.
func TestCheckMirror(t *testing.T) {
	m := testMatrix(t, "kaniko")
	mirror, err := builders.SelectStrategies(m.Builders[0], []string{builders.MirrorName})
	if err != nil {
		t.Fatal(err)
	}
	traffic := func(upBlobs, mirrorBlobs int) map[string]results.RegistryTraffic {
		return map[string]results.RegistryTraffic{
			"upstream": {Pulls: 1, BlobGets: upBlobs, PulledBytes: int64(upBlobs) * 10e6},
			"mirror":   {Pulls: 1, BlobGets: mirrorBlobs},
			"cache":    {PushedBlobs: 2},
		}
	}
	log := results.BuildLog{Read: true, CacheMisses: 2}
	for _, tt := range []struct {
		name    string
		cache   results.CacheState
		traffic map[string]results.RegistryTraffic
		want    results.Verdict
	}{
		{"cold, filled from upstream", results.Cold, traffic(2, 2), results.Verified},
		{"warm, served by the mirror", results.Warm, traffic(0, 2), results.Verified},
		{"cold, nothing from upstream", results.Cold, traffic(0, 2), results.Contradicted},
		{"warm, upstream still pulled", results.Warm, traffic(2, 2), results.Contradicted},
		{"the builder went around the mirror", results.Warm, map[string]results.RegistryTraffic{"upstream": {Pulls: 1, BlobGets: 2}}, results.Contradicted},
		{"no access logs", results.Warm, nil, results.Unverified},
	} {
		plannedRun := PlannedRun{Workload: m.Workloads[0], Builder: m.Builders[0], Strategy: mirror[0], Cache: tt.cache}
		c := CheckRun(plannedRun, results.Run{Coordinates: results.Coordinates{Cache: tt.cache}, Success: true, BuildLog: log, Traffic: tt.traffic})
		if c.Verdict != tt.want {
			t.Errorf("%s: %s %q, want %s", tt.name, c.Verdict, c.Problems, tt.want)
		}
	}
}

func TestDNSName(t *testing.T) {
	tests := map[string]string{
		"small-pv-warm-r1-cold0-":                  "small-pv-warm-r1-cold0-",
		"Cache_PV.warm":                            "cache-pv-warm",
		strings.Repeat("a", 70):                    strings.Repeat("a", 63),
		"cache-pv-warm-gobuild-20261126-131624-r1": "cache-pv-warm-gobuild-20261126-131624-r1",
	}
	for in, want := range tests {
		if got := dnsName(in); got != want {
			t.Errorf("dnsName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRunSelects(t *testing.T) {
	tests := []struct {
		pattern string
		want    bool
	}{
		{"", false}, {"Cache", true}, {"Cache/registry", true}, {"TestCache$", true},
		{"Plan", false}, {"Plan|Cache", true}, {"Options/defaults", false},
	}
	saved := flag.Lookup("test.run").Value.String()
	defer flag.Set("test.run", saved)
	for _, tt := range tests {
		if err := flag.Set("test.run", tt.pattern); err != nil {
			t.Fatal(err)
		}
		if got := runSelects("TestCache"); got != tt.want {
			t.Errorf("-run %q selects TestCache: %v, want %v", tt.pattern, got, tt.want)
		}
	}
}

func TestCheckTimeout(t *testing.T) {
	saved := flag.Lookup("test.timeout").Value.String()
	defer flag.Set("test.timeout", saved)
	o := Defaults() // precision-driven within a budget of 90m
	fixed := Defaults()
	fixed.Rounds, fixed.WarmRuns = 1, 3 // small, 4 builders, 3 strategies: 48 runs
	for _, tt := range []struct {
		o       Options
		timeout string
		ok      bool
	}{{o, "10m", false}, {o, "2h", true}, {o, "0", true}, {fixed, "10m", false}, {fixed, "2h", true}} {
		c, err := tt.o.Parse()
		if err != nil {
			t.Fatal(err)
		}
		flag.Set("test.timeout", tt.timeout)
		err = checkTimeout(c.Plan)
		if (err == nil) != tt.ok {
			t.Errorf("-timeout %s: %v", tt.timeout, err)
		}
		if err != nil && !strings.Contains(err.Error(), "-timeout") {
			t.Errorf("the error should say which flag to raise: %v", err)
		}
	}
}

func TestCheckBasesOffline(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "py")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM debian:bookworm-slim AS tools\nFROM python:3.12-slim\n"), 0o644)
	o := Defaults()
	o.WorkloadDirs = []string{dir}
	check := func(mode images.Mode) error {
		t.Helper()
		c, err := o.Parse()
		if err != nil {
			t.Fatal(err)
		}
		c.Images.Mode = mode
		return checkBases(context.Background(), c)
	}
	err := check(images.Offline)
	for _, want := range []string{"--workload-dir " + dir, "python:3.12-slim is not available offline", "debian:bookworm-slim", "golang:1.26-bookworm", "--images online"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to contain %q", err, want)
		}
	}
	if err := check(images.Online); err != nil {
		t.Errorf("online, any base may be copied: %v", err)
	}
	// Another directory holds bases we build.
	dir = filepath.Join(t.TempDir(), "go")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM golang:1.26-bookworm AS build\nFROM debian:12-slim\n"), 0o644)
	o.WorkloadDirs = []string{dir}
	if err := check(images.Offline); err != nil {
		t.Errorf("offline bases: %v", err)
	}
}

// TestUnfrozenPackageCacheFailsTheRun: a run whose build fetched a package
// from upstream after the cache was frozen, or that found the cache thawed,
// is not a measurement, and says why; one served by the frozen cache is.
func TestUnfrozenPackageCacheFailsTheRun(t *testing.T) {
	if why := unfrozen(&results.PackageTraffic{Requests: 24, Hits: 24}, true); why != "" {
		t.Errorf("a run served by the frozen cache: %q", why)
	}
	if why := unfrozen(nil, true); why != "" {
		t.Errorf("a run that asked nothing of the frozen cache: %q", why)
	}
	for _, tc := range []struct {
		traffic *results.PackageTraffic
		frozen  bool
		want    string
	}{
		{&results.PackageTraffic{Requests: 24, Upstream: 24}, true, "24 of the run's 24"},
		{&results.PackageTraffic{Requests: 24, Hits: 24}, false, "no longer frozen"},
	} {
		why := unfrozen(tc.traffic, tc.frozen)
		for _, want := range []string{tc.want, "lost its store", "--packages direct"} {
			if !strings.Contains(why, want) {
				t.Errorf("the reason %q does not say %q", why, want)
			}
		}
	}
}

// TestParseReadsWorkloadFoldersOnce: the plan is made from what Parse read;
// a workload's folder is not read again (here it is gone by then).
func TestParseReadsWorkloadFoldersOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "app")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM debian:12-slim\nCOPY app.sh /\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "app.sh"), []byte("echo app\n"), 0o644)
	o := Defaults()
	o.WorkloadDirs = []string{dir}
	o.Builders = []string{"buildkit"}
	c, err := o.Parse()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	m, err := c.Plan.selection(builders.Settings{}, nil)
	if err != nil {
		t.Fatalf("the plan read the workload's folder again: %v", err)
	}
	if len(m.Workloads) != 1 || m.Workloads[0].Name != "app" {
		t.Errorf("workloads %v, want app", m.Workloads)
	}
	if got := c.Plan.baseNames(); !slices.Equal(got, []string{"debian"}) {
		t.Errorf("bases %v, want debian", got)
	}
}

// TestRoundRequests: a run's traffic at the cache registry is its round's
// repositories' (its image's, its layer cache's), not a round's beside it,
// nor a client's ping; at upstream, with bases of its own, its base path's.
func TestRoundRequests(t *testing.T) {
	const host = "registry.cachebench.svc.cluster.local:5000"
	mine := &round{imageRepo: "bench/run-smoke-kaniko-registry-r1", cacheRepo: host + "/cache/kaniko/smoke/r1", basePath: "rounds/run-smoke-kaniko-registry-r1"}
	other := &round{imageRepo: "bench/run-smoke-buildah-registry-r1", cacheRepo: host + "/cache/buildah/smoke/r1", basePath: "rounds/run-smoke-buildah-registry-r1"}
	req := func(path string) measure.Request { return measure.Request{Method: "GET", Path: path, Status: 200} }
	cache := []measure.Request{
		req("/v2/"),
		req("/v2/" + mine.imageRepo + "/manifests/t1"),
		req("/v2/cache/kaniko/smoke/r1/blobs/sha256:aa"),
		req("/v2/" + other.imageRepo + "/manifests/t2"),
		req("/v2/cache/buildah/smoke/r1/blobs/sha256:bb"),
	}
	var got []string
	for _, q := range roundRequests(slices.Clone(cache), registry.Cache, mine, host) {
		got = append(got, q.Path)
	}
	if want := []string{cache[1].Path, cache[2].Path}; !slices.Equal(got, want) {
		t.Errorf("cache registry: the round's requests %v, want %v", got, want)
	}
	up := []measure.Request{req("/v2/" + mine.basePath + "/base/debian/manifests/bookworm"), req("/v2/" + other.basePath + "/base/debian/manifests/bookworm"), req("/v2/base/debian/manifests/bookworm")}
	if got := roundRequests(slices.Clone(up), registry.Upstream, mine, host); len(got) != 1 || got[0].Path != up[0].Path {
		t.Errorf("upstream: the round's requests %v, want only %s", got, up[0].Path)
	}
	if got := roundRequests(slices.Clone(up), registry.Upstream, &round{}, host); len(got) != 3 {
		t.Errorf("upstream, a round without bases of its own: %d requests, want every one", len(got))
	}
}

// TestParseSplitsOptions: each option reaches the part of the
// configuration that reads it, and only that part.
func TestParseSplitsOptions(t *testing.T) {
	o := Defaults()
	o.ClusterName, o.Reuse, o.Keep, o.NodeImage, o.Nodes, o.CacheVolume = "split", true, true, "node:v1", 2, VolumePerNode
	o.RegistryMirrors = []string{"docker.io=http://10.0.0.1:5000"}
	o.CacheDir, o.Kubernetes, o.ImageRegistry, o.Executor, o.Warmer = "/tmp/images", "v1.34.1", "registry.example/cb", "exec:v1", "warm:v1"
	o.Images = "offline"
	o.Strategies, o.WarmRuns, o.Rounds = []string{"registry"}, 3, 2
	o.Start, o.Packages, o.RunTimeout, o.StopAfterFailures, o.SideBySide, o.BuildCA = results.StartTrigger, results.PackagesDirect, 7*time.Minute, 5, true, "none"
	o.OutRoot, o.RunID = "/tmp/out", "split-1"
	c, err := o.Parse()
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Cluster: cluster.Config{Name: "split", Reuse: true, Keep: true, NodeImage: "node:v1", Nodes: 2, RegistryMirrors: map[string]string{"docker.io": "http://10.0.0.1:5000"}},
		Images:  ImageConfig{Mode: images.Offline, CacheDir: "/tmp/images", Kubernetes: "v1.34.1", NodeImage: "node:v1", Registry: "registry.example/cb", Executor: "exec:v1", Warmer: "warm:v1"},
		Runs:    RunConfig{Start: results.StartTrigger, Packages: results.PackagesDirect, Timeout: 7 * time.Minute, StopAfterFailures: 5, SideBySide: true, Daemons: 1, Placement: PlacementSticky},
		Results: ResultsConfig{Root: "/tmp/out", RunID: "split-1"},
	}
	if !reflect.DeepEqual(c.Cluster, want.Cluster) {
		t.Errorf("cluster %+v, want %+v", c.Cluster, want.Cluster)
	}
	if c.Images != want.Images {
		t.Errorf("images %+v, want %+v", c.Images, want.Images)
	}
	if c.Runs != want.Runs {
		t.Errorf("runs %+v, want %+v", c.Runs, want.Runs)
	}
	if c.Results != want.Results {
		t.Errorf("results %+v, want %+v", c.Results, want.Results)
	}
	p := c.Plan
	if !slices.Equal(p.Strategies, []string{"registry"}) || p.WarmRuns != 3 || p.Rounds != 2 || len(p.Definitions) != len(o.Builders) || len(p.Builtin) != 1 || len(p.Networks) != 1 || p.VolumeNodes != 2 {
		t.Errorf("plan %+v", p)
	}
	if c.Settings["start"] != results.StartTrigger || !slices.Equal(c.Planned["warm-runs"], []string{"3"}) || !slices.Equal(c.Planned["cache-volume"], []string{VolumePerNode}) {
		t.Errorf("recorded settings %v, plan %v", c.Settings, c.Planned)
	}
}

// The levels are read sorted, with the arrival, into the plan and the
// runs' configuration, and recorded as settings.
func TestParseConcurrency(t *testing.T) {
	o := Defaults()
	o.Concurrency, o.Arrival = []int{4, 1, 2}, "poisson:6"
	c, err := o.Parse()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Plan.Concurrency, []int{1, 2, 4}) || c.Runs.Arrival.Rate != 6 {
		t.Errorf("levels %v, arrival %+v", c.Plan.Concurrency, c.Runs.Arrival)
	}
	if c.Settings["concurrency"] != "1,2,4" || c.Settings["arrival"] != "poisson:6" || !slices.Equal(c.Planned["concurrency"], []string{"4", "1", "2"}) {
		t.Errorf("settings %v, plan %v", c.Settings, c.Planned)
	}
	if _, ok := Defaults().Settings()["concurrency"]; ok {
		t.Error("one build at a time is recorded as a concurrency setting")
	}
	o = Defaults()
	o.Nodes, o.CacheVolume = 2, VolumePerNode
	if c, err := o.Parse(); err != nil || c.Plan.VolumeNodes != 2 || c.Settings["cache-volume"] != VolumePerNode {
		t.Errorf("a volume per node on 2 nodes: %d volumes, settings %v, %v", c.Plan.VolumeNodes, c.Settings, err)
	}
	o.CacheVolume = VolumeShared
	if c, err := o.Parse(); err != nil || c.Plan.VolumeNodes != 0 || !c.Plan.VolumeShared || c.Settings["cache-volume"] != VolumeShared {
		t.Errorf("a shared volume on 2 nodes: %d volumes, shared %v, settings %v, %v", c.Plan.VolumeNodes, c.Plan.VolumeShared, c.Settings, err)
	}
	if c, err := Defaults().Parse(); err != nil || c.Plan.VolumeNodes != 0 || c.Plan.VolumeShared || c.Settings["cache-volume"] != "" {
		t.Errorf("a volume per round: %d volumes, settings %v, %v", c.Plan.VolumeNodes, c.Settings, err)
	}
}

// Concurrency levels are rounds of their own, after the level below; a
// strategy whose builds cannot start together is planned at level 1 only.
func TestPlanConcurrency(t *testing.T) {
	m := testMatrix(t, "kaniko", "buildkit")
	m.Strategies = []string{"registry", "pv-warm", "mirror"}
	m.Concurrency = []int{1, 3}
	plan := Plan(m, 1, 1)
	want := []string{
		"registry/kaniko/small/local/r1-cold", "registry/buildkit/small/local/r1-cold",
		"pv-warm/kaniko/small/local/r1-cold", "pv-warm/buildkit/small/local/r1-cold",
		"mirror/kaniko/small/local/r1-cold", "mirror/buildkit/small/local/r1-cold",
		"registry/kaniko/small/local/r1-warm1", "registry/buildkit/small/local/r1-warm1",
		"pv-warm/kaniko/small/local/r1-warm1", "pv-warm/buildkit/small/local/r1-warm1",
		"mirror/kaniko/small/local/r1-warm1", "mirror/buildkit/small/local/r1-warm1",
		"registry/kaniko/small/local/r1-cold-x3", "registry/buildkit/small/local/r1-cold-x3",
		"pv-warm/kaniko/small/local/r1-cold-x3",
		"registry/kaniko/small/local/r1-warm1-x3", "registry/buildkit/small/local/r1-warm1-x3",
		"pv-warm/kaniko/small/local/r1-warm1-x3",
	}
	if got := runNames(plan); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("plan\n%v\nwant\n%v", got, want)
	}
	builds := 0
	for _, s := range plan {
		builds += s.Builds()
	}
	if builds != 12+3+3*3 {
		t.Errorf("%d builds, want 24 (12 at level 1, 3 cold and 3 warm runs of 3 at level 3)", builds)
	}
	if n := m.Rows(); n != 18 {
		t.Errorf("%d rows, want 18 (6 at level 1 and 3 at level 3, cold and warm)", n)
	}
	if got, want := m.Shape(1), "1 workloads x 1 networks x 2 builders x 3 strategies x concurrency 1,3 x (1 cold + 1 warm) = 18 runs, 24 builds"; got != want {
		t.Errorf("shape %q, want %q", got, want)
	}
	skipped := strings.Join(m.SkippedLevels(), "\n")
	for _, w := range []string{"buildkit under pv-warm is measured one build at a time only: its layers are a store", "kaniko under mirror", "buildkit under mirror"} {
		if !strings.Contains(skipped, w) {
			t.Errorf("skipped levels %q lack %q", skipped, w)
		}
	}
	if strings.Contains(skipped, "kaniko under pv-warm") {
		t.Errorf("kaniko's pv-warm (base images, read by every build) is skipped: %q", skipped)
	}
	// With a volume per node, BuildKit's pv-warm goes as many at once as
	// there are nodes.
	perNode := m
	perNode.VolumeNodes, perNode.Concurrency = 2, []int{1, 2, 4}
	var atTwo []string
	for _, s := range Plan(perNode, 1, 1) {
		if s.Builder.Name() == "buildkit" && s.Strategy.Name == "pv-warm" {
			atTwo = append(atTwo, s.Name())
		}
	}
	if want := "pv-warm/buildkit/small/local/r1-cold pv-warm/buildkit/small/local/r1-warm1 pv-warm/buildkit/small/local/r1-cold-x2 pv-warm/buildkit/small/local/r1-warm1-x2"; strings.Join(atTwo, " ") != want {
		t.Errorf("BuildKit's pv-warm with a volume per node on two: %v, want %s", atTwo, want)
	}
	if skipped := strings.Join(perNode.SkippedLevels(), "\n"); !strings.Contains(skipped, "buildkit under pv-warm is not measured at 4 at once: its layers are a store on a volume that takes one build at a time, and a round has 2, one per node") {
		t.Errorf("skipped levels with a volume per node: %q", skipped)
	}
	// A shared volume is still one store: one build at a time.
	shared := m
	shared.VolumeShared, shared.Concurrency = true, []int{1, 2}
	if skipped := strings.Join(shared.SkippedLevels(), "\n"); !strings.Contains(skipped, "buildkit under pv-warm is measured one build at a time only: its layers are a store on the round's volume that takes one build at a time, shared by the nodes or not") || strings.Contains(skipped, "kaniko under pv-warm") {
		t.Errorf("skipped levels with a shared volume: %q", skipped)
	}
	member := plan[len(plan)-1]
	member.Member = 2
	if got := member.Name(); got != "pv-warm/kaniko/small/local/r1-warm1-x3-m2" {
		t.Errorf("a build's name %q", got)
	}
	if member.Builds() != 1 {
		t.Errorf("a build of a warm run makes %d builds", member.Builds())
	}
}

func TestArrival(t *testing.T) {
	burst, err := ParseArrival("burst")
	if err != nil || burst.String() != "burst" {
		t.Fatalf("burst: %+v, %v", burst, err)
	}
	for _, o := range burst.offsets(4, rand.New(rand.NewPCG(1, 2))) {
		if o != 0 {
			t.Errorf("a burst's builds start apart: %v", o)
		}
	}
	a, err := ParseArrival("poisson:6")
	if err != nil || a.Rate != 6 || a.String() != "poisson:6" {
		t.Fatalf("poisson:6: %+v, %v", a, err)
	}
	// 6 builds a minute: gaps of 10 s on average.
	const k = 2001
	offsets := a.offsets(k, rand.New(rand.NewPCG(1, 2)))
	if offsets[0] != 0 || !slices.IsSorted(offsets) {
		t.Errorf("offsets do not start at 0 and grow: %v", offsets[:5])
	}
	if mean := offsets[k-1] / (k - 1); mean < 9*time.Second || mean > 11*time.Second {
		t.Errorf("mean gap %v, want about 10s", mean)
	}
	for _, bad := range []string{"", "poisson", "poisson:", "poisson:-1", "poisson:x", "poisson:601", "steady"} {
		if _, err := ParseArrival(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// The checks of TestCacheConcurrency pass on a warm run of two builds as
// the harness makes it, and name each way a broken harness would differ.
func TestConcurrencyProblems(t *testing.T) {
	at := time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC)
	member := func(m int, node, commit string) results.Run {
		return results.Run{
			Seq: 10 + m,
			Coordinates: results.Coordinates{Workload: "smoke", Builder: "kaniko", Strategy: "registry", Change: "source", Start: results.StartTrigger,
				Round: 1, Cache: results.Warm, Attempt: 1, Concurrency: 2, Member: m},
			Success: true, Check: &results.CacheCheck{Verdict: results.Verified}, Overlapped: 1,
			Commit: commit, ImageDigest: "sha256:" + commit, StartedAt: at.Add(time.Duration(m) * 300 * time.Millisecond),
			Tasks: []results.Task{{Name: builders.BuildTask, Node: node}},
		}
	}
	good := []results.Run{member(1, "w1", "a"), member(2, "w2", "b")}
	workers := []string{"w1", "w2"}
	noVolume := func(string, string) bool { return false }
	if p := concurrencyProblems(good, workers, noVolume, true); len(p) != 0 {
		t.Fatalf("a warm run as the harness makes it: %v", p)
	}
	for _, c := range []struct {
		name   string
		breaks func([]results.Run) []results.Run
		want   string
	}{
		{"one build", func(rs []results.Run) []results.Run { return rs[:1] }, "1 builds, want 2"},
		{"one after the other", func(rs []results.Run) []results.Run { rs[0].Overlapped, rs[1].Overlapped = 0, 0; return rs }, "overlapped 0 runs"},
		{"the same commit", func(rs []results.Run) []results.Run { rs[1].Commit = "a"; return rs }, "2 builds built 1 commits"},
		{"the same image", func(rs []results.Run) []results.Run { rs[1].ImageDigest = rs[0].ImageDigest; return rs }, "2 builds pushed 1 images"},
		{"one node", func(rs []results.Run) []results.Run { rs[1].Tasks[0].Node = "w1"; return rs }, "builds ran on [w1], want 2 node(s)"},
		{"started apart", func(rs []results.Run) []results.Run { rs[1].StartedAt = at.Add(time.Minute); return rs }, "a burst's builds started 59.7s apart"},
		{"not verified", func(rs []results.Run) []results.Run { rs[0].Check.Verdict = results.Contradicted; return rs }, "build 1 (run 11) not verified"},
		{"numbered twice", func(rs []results.Run) []results.Run { rs[1].Member = 1; return rs }, "builds numbered [1], want 1 to 2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			runs := c.breaks([]results.Run{member(1, "w1", "a"), member(2, "w2", "b")})
			p := strings.Join(concurrencyProblems(runs, workers, noVolume, true), "\n")
			if !strings.Contains(p, c.want) {
				t.Errorf("problems %q lack %q", p, c.want)
			}
		})
	}
	// On a volume, the builds share their round's node.
	onVolume := func(string, string) bool { return true }
	if p := strings.Join(concurrencyProblems(good, workers, onVolume, true), "\n"); !strings.Contains(p, "want 1 node(s)") {
		t.Errorf("builds of a volume's strategy on two nodes: %q", p)
	}
}

// With a volume per node, a round's cold run on w1 leaves w2's volume
// cold for the first warm run's second build, and for nothing after it.
func TestColdVolumeProblems(t *testing.T) {
	build := func(cache results.CacheState, attempt, m int, node string, cold bool) results.Run {
		return results.Run{
			Seq:         attempt*10 + m,
			Coordinates: results.Coordinates{Workload: "smoke", Builder: "buildkit", Strategy: "pv-warm", Round: 1, Cache: cache, Attempt: attempt, Concurrency: 2, Member: m},
			Success:     true, ColdVolume: cold,
			Tasks: []results.Task{{Name: builders.BuildTask, Node: node}},
		}
	}
	round := func() []results.Run {
		return []results.Run{
			build(results.Cold, 0, 0, "w1", false),
			build(results.Warm, 1, 1, "w1", false), build(results.Warm, 1, 2, "w2", true),
			build(results.Warm, 2, 1, "w1", false), build(results.Warm, 2, 2, "w2", false),
		}
	}
	volumeLayers := func(_, strategy string) bool { return strategy == "pv-warm" }
	if p := coldVolumeProblems(round(), volumeLayers); len(p) != 0 {
		t.Fatalf("a round as the harness makes it: %v", p)
	}
	for _, c := range []struct {
		name   string
		breaks func([]results.Run) []results.Run
		want   string
	}{
		{"not marked", func(rs []results.Run) []results.Run { rs[2].ColdVolume = false; return rs }, "build 2 (run 12) on w2: on a cold volume false, want true"},
		{"marked after use", func(rs []results.Run) []results.Run { rs[4].ColdVolume = true; return rs }, "build 2 (run 22) on w2: on a cold volume true, want false"},
		{"the round's own node", func(rs []results.Run) []results.Run { rs[1].ColdVolume = true; return rs }, "build 1 (run 11) on w1: on a cold volume true"},
		{"never cold", func(rs []results.Run) []results.Run { rs[2].Tasks[0].Node = "w1"; rs[2].ColdVolume = false; return rs }, "no build at a level above 1 found its node's cache volume cold"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := strings.Join(coldVolumeProblems(c.breaks(round()), volumeLayers), "\n")
			if !strings.Contains(p, c.want) {
				t.Errorf("problems %q lack %q", p, c.want)
			}
		})
	}
}

// A soak is one round of the daemon strategy, M builds long, with the
// daemon's garbage collection at the limit given.
func TestSoakConfig(t *testing.T) {
	o := Defaults()
	o.Builders, o.Strategies, o.Soak, o.GCLimit = []string{"buildkit"}, []string{"daemon"}, 30, "300Mi"
	c, err := o.Parse()
	if err != nil {
		t.Fatal(err)
	}
	if c.Plan.Rounds != 1 || c.Plan.WarmRuns != 29 || c.Runs.GCLimit != 300<<20 {
		t.Errorf("--soak 30 --gc-limit 300Mi: %d rounds of 1 cold + %d warm, gc limit %d bytes; want 1 round of 1 + 29, %d bytes", c.Plan.Rounds, c.Plan.WarmRuns, c.Runs.GCLimit, 300<<20)
	}
	m, err := c.Plan.selection(builders.Settings{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(Plan(m, c.Plan.Rounds, c.Plan.WarmRuns)); got != 30 {
		t.Errorf("the soak plans %d runs, want 30", got)
	}
}

// A soak given a mix is one row, its change the mix, whose warm runs make
// the mix's patterns at their shares.
func TestSoakFollowsAMix(t *testing.T) {
	o := Defaults()
	o.Builders, o.Strategies, o.Soak, o.Decision.Mix = []string{"buildkit"}, []string{"daemon"}, 21, "source=7,base=2,none=1"
	c, err := o.Parse()
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.Plan.selection(builders.Settings{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	planned := Plan(m, c.Plan.Rounds, c.Plan.WarmRuns)
	made := map[scenarios.Change]int{}
	for _, s := range planned {
		if s.Change != scenarios.ChangeMix {
			t.Errorf("%s: change %s, want %s", s.Name(), s.Change, scenarios.ChangeMix)
		}
		if s.Cache == results.Cold {
			if s.MixChange != "" {
				t.Errorf("the cold run makes %s", s.MixChange)
			}
			continue
		}
		made[s.made()]++
	}
	if want := map[scenarios.Change]int{"source": 14, "base": 4, "none": 2}; !maps.Equal(made, want) {
		t.Errorf("the warm runs make %v, want %v", made, want)
	}
	if got, want := mixCounts(m.Mix), "14 source, 4 base, 2 none"; got != want {
		t.Errorf("the environment's note says %q, want %q", got, want)
	}
	if got := m.Rows(); got != 2 {
		t.Errorf("%d rows, want 2 (the soak's cold and warm)", got)
	}
}

// A round that starts ends its row's earlier rounds (their daemons,
// volumes and Triggers), and no other row's.
func TestOtherRoundsOfRow(t *testing.T) {
	row := results.Coordinates{Workload: "small", Builder: "buildkit", Strategy: "daemon", Network: "local"}
	at := func(c results.Coordinates, round int) results.Coordinates { c.Round = round; return c }
	other := row
	other.Builder = "docker"
	level := row
	level.Concurrency = 2
	keys := []results.Coordinates{at(row, 1), at(row, 2), at(other, 1), at(level, 1), at(row, 3)}
	got := otherRoundsOfRow(slices.Values(keys), at(row, 3))
	slices.SortFunc(got, func(a, b results.Coordinates) int { return a.Round - b.Round })
	if want := []results.Coordinates{at(row, 1), at(row, 2)}; !slices.Equal(got, want) {
		t.Errorf("rounds ended when round 3 starts: %+v, want %+v", got, want)
	}
}
