package reports

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/perf/benchfmt"

	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/stats"
)

// BenchTextFile holds the runs in the Go benchmark format, for benchstat.
const BenchTextFile = "bench.txt"

// Units of bench.txt besides ns/op (the wall time). Only what has a finer
// resolution than Tekton's one-second status times goes here (those are in
// the report), and the builder's layer cache hits, a count (exact). The
// phases come from the builder's own log (results.BuildPhases).
const (
	UnitPull = "pull-s/op" // the builder retrieving and unpacking base images
	UnitPush = "push-s/op" // the builder pushing the image
	UnitHits = "cache-hits/op"
	// From the registries' access logs: megabytes from the upstream
	// registry, and pulls there as Docker Hub counts them.
	UnitUpstreamMB = "upstream-MB/op"
	UnitPulls      = "pulls/op"
	// Of a run started by a push event, on the harness's clock from
	// sending the event: until the PipelineRun its Trigger made was seen,
	// and until that PipelineRun's first step ran.
	UnitEventToPipelineRun = "event-pipelinerun-s/op"
	UnitEventToFirstStep   = "event-first-step-s/op"
	// From the kernel's counters of the run's pods: CPU time of every
	// task's pod, and the build pod's peak memory.
	UnitCPU        = "cpu-s/op"
	UnitPeakMemory = "peak-MiB/op"
)

// BenchName is the benchmark name of a run, without the "Benchmark"
// prefix, its parts in benchstat's key=value form:
// Cache/workload=small/builder=kaniko/strategy=none/cache=cold.
func BenchName(r results.Run) string {
	return fmt.Sprintf("Cache/workload=%s/builder=%s/strategy=%s/cache=%s",
		namePart(r.Workload), namePart(stats.BuilderOf(r)), namePart(r.Strategy), namePart(string(r.Cache)))
}

// namePart keeps a value from splitting a name: no slash, no space.
func namePart(v string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '=' || unicode.IsSpace(r) {
			return '-'
		}
		return r
	}, v)
}

// WriteBenchText writes every successful run as one benchmark result,
// named by BenchName, so that "benchstat old/bench.txt new/bench.txt"
// compares two benchmarks group by group and "benchstat -col /builder
// bench.txt" compares the builders of one (-col /strategy its strategies).
// Configuration lines name the machine and the versions.
func WriteBenchText(w io.Writer, res *results.Results) error {
	bw := benchfmt.NewWriter(w)
	for _, m := range []struct{ unit, key, value string }{{UnitHits, "better", "higher"}, {UnitHits, "assume", "exact"}, {UnitPulls, "assume", "exact"}} {
		if err := bw.Write(&benchfmt.UnitMetadata{UnitMetadataKey: benchfmt.UnitMetadataKey{Unit: m.unit, Key: m.key}, OrigUnit: m.unit, Value: m.value}); err != nil {
			return err
		}
	}
	cfg := benchConfig(res.Environment)
	for _, r := range res.Runs {
		if !r.Success {
			continue
		}
		phase := map[string]float64{}
		for _, p := range r.BuildLog.Phases {
			phase[p.Name] = p.Seconds
		}
		// The network profile is a configuration of the run, not part of its
		// name: benchstat then puts each profile in a table of its own and
		// never compares across profiles by accident.
		// So is the change pattern, and how the run started.
		runCfg := append(slices.Clip(cfg),
			benchfmt.Config{Key: "change", Value: []byte(stats.ChangeOf(r)), File: true},
			benchfmt.Config{Key: "network", Value: []byte(stats.NetworkOf(r)), File: true})
		runCfg = append(runCfg, startConfig(r)...)
		if r.MixChange != "" {
			// A soak that follows a mix: each build's own change.
			runCfg = append(runCfg, benchfmt.Config{Key: "mix-change", Value: []byte(r.MixChange), File: true})
		}
		if l := r.Level(); l > 1 {
			// Builds among others started together: never compared with
			// builds one at a time.
			runCfg = append(runCfg, benchfmt.Config{Key: "concurrency", Value: []byte(strconv.Itoa(l)), File: true})
		}
		result := &benchfmt.Result{
			Config: runCfg,
			Name:   benchfmt.Name(BenchName(r)),
			Iters:  1,
			Values: []benchfmt.Value{
				{Value: float64(r.WallMillis) * 1e6, Unit: "ns/op"},
				{Value: phase["base-image"] + phase["unpack"], Unit: UnitPull},
				{Value: phase["push"], Unit: UnitPush},
				{Value: float64(r.BuildLog.CacheHits), Unit: UnitHits},
			},
		}
		if up, ok := r.Traffic["upstream"]; ok {
			result.Values = append(result.Values,
				benchfmt.Value{Value: float64(up.PulledBytes) / 1e6, Unit: UnitUpstreamMB},
				benchfmt.Value{Value: float64(up.Pulls), Unit: UnitPulls})
		}
		result.Values = append(result.Values, triggerValues(r)...)
		result.Values = append(result.Values, usageValues(r)...)
		if err := bw.Write(result); err != nil {
			return err
		}
	}
	return nil
}

// usageValues are a run's CPU time and its build pod's peak memory, for
// runs that recorded them (none else, so that older bench.txt files stay
// as they were).
func usageValues(r results.Run) []benchfmt.Value {
	cpu := r.CPUSeconds()
	if cpu <= 0 {
		return nil
	}
	b, _ := r.Task("build-push")
	return []benchfmt.Value{{Value: cpu, Unit: UnitCPU}, {Value: float64(b.PeakMemoryBytes) / (1 << 20), Unit: UnitPeakMemory}}
}

// startConfig is the start: line of a run. A run the harness created
// through the API has none, so that the bench.txt of a benchmark without
// triggers stays as it was and "benchstat old/bench.txt new/bench.txt"
// still compares it with one written before triggers existed; benchstat
// still never puts a trigger's run in the table of an API-started one, as
// a missing key differs from "trigger".
func startConfig(r results.Run) []benchfmt.Config {
	start := stats.StartOf(r)
	if start == results.StartAPI {
		return nil
	}
	return []benchfmt.Config{{Key: "start", Value: []byte(start), File: true}}
}

// triggerValues are the times a push event's run measured, seconds; a time
// not measured (zero) is left out rather than written as an instant.
func triggerValues(r results.Run) []benchfmt.Value {
	t := r.Trigger
	if t == nil {
		return nil
	}
	var vs []benchfmt.Value
	if t.PipelineRunMillis > 0 {
		vs = append(vs, benchfmt.Value{Value: float64(t.PipelineRunMillis) / 1000, Unit: UnitEventToPipelineRun})
	}
	if t.FirstStepMillis > 0 {
		vs = append(vs, benchfmt.Value{Value: float64(t.FirstStepMillis) / 1000, Unit: UnitEventToFirstStep})
	}
	return vs
}

// benchConfig turns the environment into configuration lines: versions,
// machine class and the cache registry's network profile. benchstat
// puts results whose file configuration differs into separate tables, so
// only what makes two benchmarks comparable goes here (versions, CPU
// count, cgroup), not what differs from one machine or day to the next
// (host name, kernel build, run ID).
func benchConfig(e results.Environment) []benchfmt.Config {
	var cfg []benchfmt.Config
	add := func(k, v string) {
		if v == "" {
			return
		}
		k = strings.Map(func(r rune) rune {
			if r == ' ' || r == ':' {
				return '-'
			}
			return r
		}, strings.ToLower(k))
		cfg = append(cfg, benchfmt.Config{Key: k, Value: []byte(strings.ReplaceAll(v, "\n", " ")), File: true})
	}
	// Records from before the node's system was recorded were all made
	// on linux/amd64 machines.
	add("goos", cmp.Or(e.GoOS, "linux"))
	add("goarch", cmp.Or(e.GoArch, "amd64"))
	add("pkg", "github.com/cachebench/cachebench/bench")
	if e.CPUs > 0 {
		add("cpus", fmt.Sprint(e.CPUs))
	}
	add("cgroup", e.Cgroup)
	add("cache-network", e.Settings["cache-network"])
	// Only proxied packages get a line: a bench.txt of direct downloads
	// stays comparable with one written before the setting existed.
	if e.Settings["packages"] == results.PackagesProxied {
		add("packages", results.PackagesProxied)
	}
	// Only several nodes get a line, for the same reason.
	if n := e.Settings["nodes"]; n != "" && n != "1" {
		add("nodes", n)
	}
	if v := e.Settings["cache-volume"]; v != "" {
		add("cache-volume", v)
	}
	if v := e.Settings["daemons"]; v != "" {
		add("daemons", v)
		add("placement", e.Settings["placement"])
	}
	for _, k := range sortedKeys(e.Versions) {
		add(k, e.Versions[k])
	}
	return cfg
}

func writeBenchTextFile(dir string, res *results.Results) error {
	f, err := os.Create(filepath.Join(dir, BenchTextFile))
	if err != nil {
		return err
	}
	if err := WriteBenchText(f, res); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", BenchTextFile, err)
	}
	return f.Close()
}
