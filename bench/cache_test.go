package bench

import (
	"testing"
)

// TestCache runs the benchmark plan. Each subtest is one run; besides
// succeeding, each must show in kaniko's own log that its strategy did what
// it claims (a cache that is never hit measures nothing).
func TestCache(t *testing.T) {
	if skipReason != "" {
		t.Skip(skipReason)
	}
	if session == nil || session.Runner == nil || suiteCtx == nil {
		t.Fatal("the benchmark setup did not complete")
	}
	for _, step := range session.Plan() {
		t.Run(step.Name(), func(t *testing.T) {
			runs, err := session.Runner.Do(suiteCtx, step)
			for _, run := range runs {
				t.Logf("%s r%d %s%d: success=%v wall=%.1fs hits=%d misses=%d local-hits=%d",
					run.Strategy, run.Round, run.Phase, run.Attempt, run.Success, run.WallSeconds(),
					run.Kaniko.CacheHits, run.Kaniko.CacheMisses, run.Kaniko.LocalCacheHits)
				if run.Success {
					for _, problem := range CheckCacheUse(step, run) {
						t.Error(problem)
					}
				}
			}
			if err != nil {
				t.Fatal(err)
			}
		})
		if suiteCtx.Err() != nil {
			t.Fatal("interrupted: results so far are in", session.ResultsDir())
		}
	}
}
