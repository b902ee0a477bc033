package bench

import (
	"context"
	"fmt"

	"github.com/cachebench/cachebench/results"
)

// verdictCollector judges a successful run: its builder's cache use
// against its strategy (CheckRun), the commit it built against its
// change's, each instruction's cache lookup against the change's
// prediction (findings), and its pushed image against its commit (the
// image check).
type verdictCollector struct{ r *Runner }

// Collect implements Collector.
func (c verdictCollector) Collect(ctx context.Context, f Finished, run *results.Run) {
	if !run.Success {
		return
	}
	r, s := c.r, f.Planned
	run.Check = CheckRun(s, *run)
	if commit := f.round.commit; commit != "" && run.Commit != commit {
		run.Check.Verdict = results.Contradicted
		run.Check.Problems = append(run.Check.Problems, fmt.Sprintf("the run built commit %s, not the change's %s", run.Commit, commit))
	}
	run.Findings = c.findings(s, *run)
	image, problems, findings, err := c.checkImage(ctx, s, f.round, *run)
	if err != nil {
		r.log.Warnf("%s: the image was not checked: %v", s.Name(), err)
		return
	}
	run.Check.Image = image
	if len(problems) > 0 {
		run.Check.Verdict = results.Contradicted
		run.Check.Problems = append(run.Check.Problems, problems...)
	}
	run.Findings = append(run.Findings, findings...)
}
