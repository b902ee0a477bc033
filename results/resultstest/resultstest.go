// Package resultstest makes runs for the tests of the packages that read
// results (statistics, reports).
package resultstest

import "github.com/cachebench/cachebench/results"

// Runs makes successful runs with the given wall times.
func Runs(workload, strategy string, phase results.CacheState, walls ...float64) []results.Run {
	var out []results.Run
	for i, w := range walls {
		out = append(out, results.Run{Coordinates: results.Coordinates{Workload: workload, Strategy: strategy, Cache: phase, Attempt: i}, Success: true,
			WallMillis: int64(w * 1000),
			Tasks:      []results.Task{{Name: "fetch-source", Span: results.Span{Seconds: 5}}, {Name: "build-push", Span: results.Span{Seconds: w - 6}}},
			BuildLog: results.BuildLog{Read: true, CacheHits: map[bool]int{true: 1}[strategy != "none" && phase == results.Warm],
				Phases: []results.BuildPhase{{Name: "base-image", Seconds: 0.5}, {Name: "commands", Seconds: w / 3}}},
		})
	}
	return out
}

// Sample is a small benchmark: one workload, three strategies, six warm
// runs each, one failed run.
func Sample() []results.Run {
	var runs []results.Run
	runs = append(runs, Runs("small", "none", results.Cold, 17)...)
	runs = append(runs, Runs("small", "registry", results.Cold, 18)...)
	runs = append(runs, Runs("small", "pv-warm", results.Cold, 18.5)...)
	runs = append(runs, Runs("small", "none", results.Warm, 16, 16.5, 15.8, 16.2, 16.1, 16.4)...)
	runs = append(runs, Runs("small", "registry", results.Warm, 10, 10.4, 9.8, 10.1, 10.2, 10.3)...)
	runs = append(runs, Runs("small", "pv-warm", results.Warm, 10.1, 12.5, 9.0, 10, 13, 10.2)...)
	runs = append(runs, results.Run{Coordinates: results.Coordinates{Workload: "small", Strategy: "registry", Cache: results.Warm}, Success: false, Reason: "boom", LogTail: "error building image"})
	for i := range runs {
		runs[i].Seq = i + 1
	}
	return runs
}

// WithBuilder sets the builder of runs (Runs leaves it empty, which reads
// as kaniko, as in results recorded before there was a choice).
func WithBuilder(builder string, runs []results.Run) []results.Run {
	for i := range runs {
		runs[i].Builder = builder
	}
	return runs
}

// BuilderSample is a benchmark of two builders, kaniko and buildkit, on
// one workload: three strategies each, one cold and six warm runs per
// strategy, buildkit faster throughout, one failed buildkit run.
func BuilderSample() []results.Run {
	var runs []results.Run
	add := func(builder, strategy string, cold float64, warm ...float64) {
		runs = append(runs, WithBuilder(builder, Runs("small", strategy, results.Cold, cold))...)
		runs = append(runs, WithBuilder(builder, Runs("small", strategy, results.Warm, warm...))...)
	}
	add("kaniko", "none", 17, 16, 16.5, 15.8, 16.2, 16.1, 16.4)
	add("kaniko", "registry", 18, 10, 10.4, 9.8, 10.1, 10.2, 10.3)
	add("kaniko", "pv-warm", 18.5, 10.1, 10.5, 9.9, 10, 10.3, 10.2)
	add("buildkit", "none", 13, 12.1, 12.4, 11.9, 12.2, 12.0, 12.3)
	add("buildkit", "registry", 14, 6.1, 6.4, 5.9, 6.2, 6.0, 6.3)
	add("buildkit", "pv-warm", 13.5, 7.1, 7.4, 6.9, 7.2, 7.0, 7.3)
	runs = append(runs, results.Run{Coordinates: results.Coordinates{Workload: "small", Builder: "buildkit", Strategy: "registry", Cache: results.Warm}, Success: false, Reason: "boom", LogTail: "error exporting cache"})
	for i := range runs {
		runs[i].Seq = i + 1
	}
	return runs
}
