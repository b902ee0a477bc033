package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/support"

	"github.com/cachebench/cachebench/cluster"
	"github.com/cachebench/cachebench/cluster/gitserver"
	"github.com/cachebench/cachebench/images"
	"github.com/cachebench/cachebench/log"
	"github.com/cachebench/cachebench/reports"
	"github.com/cachebench/cachebench/scenarios"
)

// Session is one benchmark: options, images, cluster, results.
type Session struct {
	Opts       Options
	Log        log.Logger
	RunID      string
	Workloads  []scenarios.Workload
	Strategies []scenarios.Strategy

	Images   *images.Set
	Cluster  cluster.Config
	Provider support.E2EClusterProvider
	Builder  scenarios.Builder
	Writer   *reports.Writer
	Runner   *Runner
	caFile   string
}

// BuildCAConfigMap holds the CA bundle mounted into build steps.
const BuildCAConfigMap = "build-ca"

// Preflight says, in one line, why a benchmark cannot run here.
func Preflight(ctx context.Context, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if o.Kubeconfig == "" {
		if err := cluster.CheckDocker(ctx); err != nil {
			return err
		}
	}
	mode, _ := images.ParseMode(o.Images)
	if mode != images.Online && os.Geteuid() != 0 {
		return errors.New("building images offline needs root (mmdebstrap, chroot): run as root, or with --images=online where a registry can be reached")
	}
	if mode != images.Online {
		if _, err := exec.LookPath("mmdebstrap"); err != nil {
			return errors.New("mmdebstrap not found: run `sudo make docker` (host/install-docker.sh installs it)")
		}
	}
	return nil
}

// NewSession validates the options and prepares the images (building what
// the cache lacks when offline).
func NewSession(ctx context.Context, o Options, l log.Logger) (*Session, error) {
	if err := Preflight(ctx, o); err != nil {
		return nil, err
	}
	s := &Session{Opts: o, Log: l, RunID: o.RunID}
	if s.RunID == "" {
		s.RunID = reports.NewRunID(time.Now(), "")
	}
	var err error
	if s.Workloads, s.Strategies, err = o.selection(); err != nil {
		return nil, err
	}
	factory, err := images.NewFactory(images.WithCacheDir(o.CacheDir), images.WithLogger(l), images.WithKubernetesVersion(o.Kubernetes))
	if err != nil {
		return nil, err
	}
	mode, _ := images.ParseMode(o.Images)
	if s.Images, err = factory.Resolve(ctx, mode); err != nil {
		return nil, fmt.Errorf("prepare images: %w", err)
	}
	bi := BuilderImages{KanikoExecutor: s.Images.KanikoExecutor, KanikoWarmer: s.Images.KanikoWarmer}
	if s.caFile, err = o.BuildCAFile(); err != nil {
		return nil, err
	}
	if s.caFile != "" {
		bi.CABundle = BuildCAConfigMap
	}
	if o.Executor != "" {
		bi.KanikoExecutor = o.Executor
	}
	if o.Warmer != "" {
		bi.KanikoWarmer = o.Warmer
	}
	if s.Builder, err = NewBuilder(o.Builder, bi); err != nil {
		return nil, err
	}
	s.Cluster = cluster.Config{
		Name: o.ClusterName, Kubeconfig: o.Kubeconfig, Reuse: o.Reuse, Keep: o.Keep,
		NodeImage: o.NodeImage, Log: l,
	}
	s.Provider = cluster.Provider(s.Cluster, s.Images)
	return s, nil
}

// Plan returns the session's steps.
func (s *Session) Plan() []Step {
	return Plan(s.Workloads, s.Strategies, s.Opts.Rounds, s.Opts.WarmRuns)
}

// Setup returns the env.Funcs that bring everything up, the last of which
// opens the results folder and installs the pipeline.
func (s *Session) Setup() []env.Func {
	var repos []gitserver.Repo
	for _, w := range s.Workloads {
		repos = append(repos, gitserver.Repo{Name: w.Name, Files: w.Files})
	}
	return append(cluster.Setup(s.Cluster, s.Images, s.Provider, repos), s.start)
}

func (s *Session) start(ctx context.Context, _ *envconf.Config) (context.Context, error) {
	e, ok := cluster.EnvFrom(ctx)
	if !ok {
		return ctx, errors.New("start benchmark: cluster setup left no environment")
	}
	dir := filepath.Join(s.Opts.OutRoot, s.RunID)
	versions := map[string]string{"builder": s.Builder.Name()}
	for k, v := range e.Versions {
		versions[k] = v
	}
	for k, v := range s.Builder.Images() {
		versions[s.Builder.Name()+"-"+k] = v
	}
	envInfo := reports.Environment{
		RunID: s.RunID, Started: time.Now().UTC(), Versions: versions, Settings: s.Opts.Settings(),
		Notes: []string{
			"Tekton feature flag coschedule=disabled: the pv-warm build binds two PVC workspaces, which the default (workspaces) refuses.",
			"Wall time is the harness's monotonic clock from PipelineRun creation to completion; Tekton status times have one-second resolution.",
			"Each PipelineRun starts after a random wait of up to 1 s: the kubelet notices container exits at a once-a-second relist, which would otherwise lock back-to-back runs to whole seconds.",
		},
	}
	if s.caFile != "" {
		envInfo.Notes = append(envInfo.Notes, "Build steps trust the CA bundle "+s.caFile+" of the host (mounted over /etc/ssl/certs/ca-certificates.crt during the build, not part of the images).")
		ca, err := os.ReadFile(s.caFile)
		if err != nil {
			return ctx, fmt.Errorf("read build CA bundle: %w", err)
		}
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: BuildCAConfigMap, Namespace: e.Namespace},
			Data:       map[string]string{scenarios.CABundleKey: string(ca)},
		}
		if err := e.Clients.ApplyObjects(ctx, cm); err != nil {
			return ctx, fmt.Errorf("build CA bundle: %w", err)
		}
	}
	fillHost(&envInfo)
	var err error
	if s.Writer, err = reports.Create(dir, envInfo); err != nil {
		return ctx, err
	}
	if s.Runner, err = NewRunner(e, s.Builder, s.Opts, s.RunID, versions, s.Writer, s.Log); err != nil {
		return ctx, err
	}
	if err := s.Runner.Install(ctx); err != nil {
		return ctx, fmt.Errorf("install pipeline: %w", err)
	}
	s.Log.Infof("results: %s", filepath.Join(dir, reports.ResultsFile))
	return ctx, nil
}

// Teardown returns the env.Funcs that clean up.
func (s *Session) Teardown() []env.Func {
	closeRunner := func(ctx context.Context, _ *envconf.Config) (context.Context, error) {
		if s.Runner != nil {
			s.Runner.Close(context.WithoutCancel(ctx))
		}
		if s.Writer != nil {
			s.Writer.Close()
		}
		return ctx, nil
	}
	return append([]env.Func{closeRunner}, cluster.Teardown(s.Cluster)...)
}

// ResultsDir is where this session writes.
func (s *Session) ResultsDir() string { return filepath.Join(s.Opts.OutRoot, s.RunID) }

// fillHost records the machine the benchmark ran on.
func fillHost(e *reports.Environment) {
	e.Host, _ = os.Hostname()
	e.CPUs = runtime.NumCPU()
	e.GoVersion = runtime.Version()
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		e.Kernel = strings.TrimSpace(string(b))
	}
	e.Cgroup = "v1"
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		e.Cgroup = "v2"
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if fields := strings.Fields(sc.Text()); len(fields) >= 2 && fields[0] == "MemTotal:" {
				kb, _ := strconv.ParseFloat(fields[1], 64)
				e.MemoryGiB = float64(int(kb/1024/1024*10)) / 10
			}
		}
		f.Close()
	}
	if out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").Output(); err == nil {
		e.Docker = strings.TrimSpace(string(out))
	}
}
