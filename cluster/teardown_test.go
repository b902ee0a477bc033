package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/support"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodes"

	"github.com/cachebench/cachebench/cluster/kind"
)

// fakeKind stands in for kind's Docker provider: a set of cluster names.
type fakeKind struct {
	mu         sync.Mutex
	clusters   map[string]bool
	deleted    []string
	kubeconfig string // written by a successful Create

	createErr error         // what Create returns
	leave     bool          // a failed Create leaves its node behind
	taken     bool          // another run creates the name just before kind looks
	onCreate  func()        // called as Create starts
	release   chan struct{} // when set, Create waits for it
	listErr   error
}

var _ kind.Backend = (*fakeKind)(nil)

func (f *fakeKind) Create(name string, _ ...kindcluster.CreateOption) error {
	if f.onCreate != nil {
		f.onCreate()
	}
	if f.release != nil {
		<-f.release
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.taken {
		f.clusters[name] = true
		return fmt.Errorf("node(s) already exist for a cluster with the name %q", name)
	}
	if f.createErr != nil {
		if f.leave {
			f.clusters[name] = true
		}
		return f.createErr
	}
	f.clusters[name] = true
	return writeKubeconfig(f.kubeconfig)
}

func (f *fakeKind) Delete(name, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted = append(f.deleted, name)
	delete(f.clusters, name)
	return nil
}

func (f *fakeKind) List() ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.listErr != nil {
		return nil, f.listErr
	}
	var names []string
	for n := range f.clusters {
		names = append(names, n)
	}
	slices.Sort(names)
	return names, nil
}

func (f *fakeKind) ExportKubeConfig(_, path string, _ bool) error { return writeKubeconfig(path) }

func (f *fakeKind) ListInternalNodes(string) ([]nodes.Node, error) { return nil, nil }
func (f *fakeKind) CollectLogs(string, string) error               { return nil }

// writeKubeconfig writes a kubeconfig for an API server that is not there.
func writeKubeconfig(path string) error {
	return os.WriteFile(path, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`), 0o600)
}

// logLines records what is logged; onWarn sees each warning.
type logLines struct {
	mu     sync.Mutex
	lines  []string
	onWarn func(string)
}

func (l *logLines) add(format string, args []any) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := fmt.Sprintf(format, args...)
	l.lines = append(l.lines, s)
	return s
}
func (l *logLines) Infof(format string, args ...any)  { l.add(format, args) }
func (l *logLines) Debugf(format string, args ...any) { l.add(format, args) }
func (l *logLines) Warnf(format string, args ...any) {
	if s := l.add(format, args); l.onWarn != nil {
		l.onWarn(s)
	}
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// TestTeardown runs Create as a run would, then Teardown with the context
// Ctrl-C cancelled, and checks what was deleted and what was said.
func TestTeardown(t *testing.T) {
	boom := errors.New("kubeadm init failed")
	tests := []struct {
		name string
		cfg  Config
		// the kind cluster before the run
		exists bool
		// how creating goes
		noCreate, interrupt, waitFails, existing bool
		createErr                                error
		leave, taken                             bool
		listErr                                  error // from teardown's look
		wantErr                                  bool  // from Create
		wantDeleted                              bool
		wantLog                                  string
	}{
		{name: "created", wantDeleted: true, wantLog: `deleting kind cluster "t"`},
		{name: "created, keep", cfg: Config{Keep: true}, wantLog: `keeping kind cluster "t"`},
		{name: "create failed, node left", createErr: boom, leave: true, wantErr: true,
			wantDeleted: true, wantLog: `deleting kind cluster "t" left by a failed create`},
		{name: "create failed, node left, keep", cfg: Config{Keep: true}, createErr: boom, leave: true, wantErr: true,
			wantDeleted: true, wantLog: `deleting kind cluster "t" left by a failed create`},
		{name: "create failed, kind cleaned up", createErr: boom, wantErr: true,
			wantLog: `kind cluster "t": a failed create left nothing behind`},
		{name: "create failed, cannot list", createErr: boom, leave: true, listErr: errors.New("docker: no answer"), wantErr: true,
			wantDeleted: true, wantLog: `left by a failed create anyway`},
		{name: "interrupted", interrupt: true, wantErr: true,
			wantDeleted: true, wantLog: `deleting kind cluster "t" left by an interrupted create`},
		{name: "control plane wait timed out", waitFails: true, wantErr: true,
			wantDeleted: true, wantLog: `deleting kind cluster "t" left by a failed create`},
		{name: "reused", cfg: Config{Reuse: true}, exists: true,
			wantLog: `leaving kind cluster "t" running: it was there before this run (reuse)`},
		{name: "reused, keep", cfg: Config{Reuse: true, Keep: true}, exists: true, wantLog: `keeping kind cluster "t"`},
		{name: "exists, no reuse", exists: true, wantErr: true},
		{name: "name taken during create", taken: true, wantErr: true},
		{name: "setup never created", noCreate: true},
		{name: "existing kubeconfig", existing: true, exists: true,
			wantLog: "cachebench did not create it"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kc := filepath.Join(t.TempDir(), "kubeconfig")
			logs := &logLines{}
			fake := &fakeKind{clusters: map[string]bool{"t": tc.exists}, kubeconfig: kc,
				createErr: tc.createErr, leave: tc.leave, taken: tc.taken}
			if !tc.exists {
				delete(fake.clusters, "t")
			}
			cfg := tc.cfg
			cfg.Name, cfg.Log = "t", logs
			var p support.E2EClusterProvider = kind.New(kind.WithName("t"), kind.WithReuse(cfg.Reuse),
				kind.WithKubeconfigPath(kc), kind.WithLogger(logs), kind.WithBackend(fake))
			if tc.existing {
				if err := writeKubeconfig(kc); err != nil {
					t.Fatal(err)
				}
				cfg.Kubeconfig = kc
				p = &Existing{Path: kc}
			}

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.interrupt {
				// Ctrl-C while kind creates; kind finishes once Create has
				// said it waits for it.
				fake.release = make(chan struct{})
				fake.onCreate = cancel
				logs.onWarn = func(s string) {
					if strings.HasPrefix(s, "interrupted") {
						close(fake.release)
					}
				}
			}
			var err error
			if !tc.noCreate {
				_, err = p.Create(ctx)
				if err == nil && tc.waitFails {
					// The wait gives up at once past its deadline.
					wctx, wcancel := context.WithTimeout(ctx, 0)
					err = p.WaitForControlPlane(wctx, nil)
					wcancel()
				}
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("create: error %v, want error: %v", err, tc.wantErr)
			}
			if tc.interrupt && !errors.Is(err, context.Canceled) {
				t.Errorf("interrupted create: error %v, want context.Canceled", err)
			}

			fake.listErr = tc.listErr
			cancel() // teardown runs after Ctrl-C
			for _, f := range Teardown(cfg, p) {
				if _, err := f(ctx, envconf.New()); err != nil {
					t.Fatalf("teardown: %v", err)
				}
			}

			if deleted := len(fake.deleted) > 0; deleted != tc.wantDeleted {
				t.Errorf("deleted %v, want deleted: %v\nlog:\n%s", fake.deleted, tc.wantDeleted, logs)
			}
			if !tc.wantDeleted && (tc.exists || tc.taken) && !fake.clusters["t"] {
				t.Errorf("the cluster that was there before is gone")
			}
			if !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("log does not say %q:\n%s", tc.wantLog, logs)
			}
		})
	}
}

// A second teardown (cluster up runs one, a deferred one may follow) does
// not delete again.
func TestTeardownTwice(t *testing.T) {
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	fake := &fakeKind{clusters: map[string]bool{}, kubeconfig: kc}
	logs := &logLines{}
	p := kind.New(kind.WithName("t"), kind.WithKubeconfigPath(kc), kind.WithLogger(logs), kind.WithBackend(fake))
	if _, err := p.Create(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Name: "t", Log: logs}
	for range 2 {
		for _, f := range Teardown(cfg, p) {
			if _, err := f(context.Background(), envconf.New()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(fake.deleted) != 1 {
		t.Errorf("deleted %v, want once", fake.deleted)
	}
}
