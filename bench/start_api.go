package bench

import (
	"context"
	"fmt"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cachebench/cachebench/cluster/kube"
)

// apiStarter creates each run's PipelineRun through the API; the run's
// clock starts as the create that is taken is sent.
type apiStarter struct{ r *Runner }

// Prepare implements Starter: it renders the PipelineRun, checked by
// Tekton's own validation.
func (a apiStarter) Prepare(ctx context.Context, s PlannedRun, rd *round, seq int, stamp string) (Begin, error) {
	r := a.r
	c := r.names.coordinates(s)
	pr, err := r.pipelineRun(s, rd, stamp, r.env.Git.URL(s.Workload.Name), imageTag(r.runID, c, fmt.Sprint(seq)))
	if err != nil {
		return nil, err
	}
	pr.GenerateName = namePrefix(c.Slug())
	return func(ctx context.Context) (Started, error) {
		var at time.Time
		var created *pipelinev1.PipelineRun
		err := kube.PastWebhookGaps(ctx, func(ctx context.Context) (err error) {
			at = time.Now()
			created, err = r.tekton.TektonV1().PipelineRuns(r.env.Namespace).Create(ctx, pr, metav1.CreateOptions{})
			return err
		})
		if err != nil {
			return Started{}, fmt.Errorf("create PipelineRun: %w", err)
		}
		return Started{PipelineRun: created, At: at}, nil
	}, nil
}
