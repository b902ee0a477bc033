package bench

import (
	"cmp"
	"context"
	"fmt"
	"path"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cachebench/cachebench/builders"
	"github.com/cachebench/cachebench/cluster/kube"
	"github.com/cachebench/cachebench/cluster/network"
	"github.com/cachebench/cachebench/cluster/pkgcache"
	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/scenarios"
)

// ProxiedBasePath is the repository path in the upstream registry of the
// base images whose configuration points package managers at the package
// cache (pkgcache.Env): with packages proxied, every build takes its bases
// from there.
const ProxiedBasePath = "proxied"

// packagesPath is the repository path builds take their base images
// under: ProxiedBasePath with packages proxied, "" with direct.
func (r *Runner) packagesPath() string {
	if r.cfg.Packages == results.PackagesProxied {
		return ProxiedBasePath
	}
	return ""
}

// PreparePackages readies the package cache for a benchmark that proxies
// packages: the proxied copies of the base images, then one unmeasured
// build of each workload through the cache while it fills, then the cache
// frozen, so that every measured run downloads the same bytes from it and
// a run that needs anything else fails at once, naming it.
func (r *Runner) PreparePackages(ctx context.Context) error {
	if r.packagesPath() == "" {
		return nil
	}
	if r.env.Packages == nil {
		return fmt.Errorf("prepare the package cache: none is deployed")
	}
	start := time.Now()
	sess, err := r.env.Upstream.Connect(ctx)
	if err != nil {
		return fmt.Errorf("prepare the package cache: %w", err)
	}
	env := pkgcache.Env(r.env.Namespace, "")
	for logical := range r.env.Bases {
		repo := r.baseRepo(logical)
		if _, err := sess.CopyWithEnv(ctx, repo, path.Join(ProxiedBasePath, repo), env); err != nil {
			sess.Close()
			return fmt.Errorf("prepare the package cache: base image %s: %w", logical, err)
		}
	}
	sess.Close()
	if err := r.env.Packages.Freeze(ctx, false); err != nil {
		return err
	}
	for _, w := range r.matrix.Workloads {
		if err := r.fillPackages(ctx, w); err != nil {
			return err
		}
	}
	if err := r.env.Packages.Freeze(ctx, true); err != nil {
		return err
	}
	r.log.Infof("package cache filled and frozen in %s", time.Since(start).Round(time.Second))
	return nil
}

// fillPackages runs one build of w, with no cache and the first builder,
// under the local profile, through the filling package cache. It is not a
// run: nothing is recorded, and its PipelineRun is removed.
func (r *Runner) fillPackages(ctx context.Context, w scenarios.Workload) error {
	b := r.matrix.Builders[0]
	none, err := builders.SelectStrategies(b, []string{"none"})
	if err != nil {
		return fmt.Errorf("fill the package cache: %w", err)
	}
	s := PlannedRun{Workload: w, Change: w.DefaultChange(), Network: network.Profile{Name: network.Local}, Builder: b, Strategy: none[0], Cache: results.Cold}
	if err := r.setNetwork(ctx, s); err != nil {
		return fmt.Errorf("fill the package cache: %w", err)
	}
	rd := &round{imageRepo: r.names.packagesRepo(w.Name)}
	if nodes := r.env.BuildNodes; len(nodes) > 0 {
		rd.node = nodes[0]
	}
	pr, err := r.pipelineRun(s, rd, r.runID, r.env.Git.URL(w.Name), r.runID+"-packages")
	if err != nil {
		return fmt.Errorf("fill the package cache: %w", err)
	}
	pr.GenerateName = namePrefix("packages-" + w.Name + "-" + b.Name())
	pr.Labels[LabelCache] = "packages"
	start := time.Now()
	var created *pipelinev1.PipelineRun
	err = kube.PastWebhookGaps(ctx, func(ctx context.Context) (err error) {
		created, err = r.tekton.TektonV1().PipelineRuns(r.env.Namespace).Create(ctx, pr, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("fill the package cache: create PipelineRun: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(cleanupContext(ctx), RemoveTimeout)
		defer cancel()
		if err := r.clean.removePipelineRun(cctx, created.Name); err != nil {
			r.log.Warnf("%v", err)
		}
	}()
	r.log.Infof("filling the package cache: %s builds %s (%s), not measured", b.Name(), w.Name, created.Name)
	wctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout+DeadlineGrace)
	defer cancel()
	done, err := r.waitDone(wctx, created.Name)
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return fmt.Errorf("fill the package cache with %s: interrupted: %w", w.Name, ctx.Err())
	case wctx.Err() != nil:
		return fmt.Errorf("fill the package cache with %s: %s did not finish within %s (--run-timeout plus %s)", w.Name, created.Name, r.cfg.Timeout+DeadlineGrace, DeadlineGrace)
	default:
		return fmt.Errorf("fill the package cache with %s: %w", w.Name, err)
	}
	end := time.Now()
	if c := done.Status.GetCondition("Succeeded"); c == nil || c.Status != corev1.ConditionTrue {
		why := "failed"
		if c != nil {
			why = c.Message
		}
		return fmt.Errorf("fill the package cache: the build of %s through it failed (PipelineRun %s): %s; --packages direct downloads from the internet instead%s", w.Name, created.Name, why, r.failedStepOf(ctx, created.Name))
	}
	if t, terr := r.env.Packages.Traffic(ctx, start, end, ""); terr != nil {
		r.log.Warnf("package cache traffic: %v", terr)
	} else {
		r.mu.Lock()
		r.filled[w.Name] = t
		r.mu.Unlock()
		r.log.Infof("package cache: %s took %d requests, %d from upstream, %.1f MB", w.Name, t.Requests, t.Upstream, float64(t.Bytes)/1e6)
	}
	return nil
}

// basePath is the repository path a round's builds take base images
// from: its own for a base change, else the packages mode's.
func (r *Runner) basePath(rd *round) string {
	return cmp.Or(rd.basePath, r.packagesPath())
}
