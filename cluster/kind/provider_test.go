package kind

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	kindcluster "sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
)

// oneCluster is a Backend holding at most the one cluster it creates.
type oneCluster struct{ up, deleted bool }

func (c *oneCluster) Create(string, ...kindcluster.CreateOption) error { c.up = true; return nil }
func (c *oneCluster) Delete(string, string) error                      { c.up, c.deleted = false, true; return nil }
func (c *oneCluster) ExportKubeConfig(string, string, bool) error      { return nil }
func (c *oneCluster) ListInternalNodes(string) ([]nodes.Node, error)   { return nil, nil }
func (c *oneCluster) CollectLogs(string, string) error                 { return nil }
func (c *oneCluster) List() ([]string, error) {
	if c.up {
		return []string{"t"}, nil
	}
	return nil, nil
}

// Deleting the cluster removes cachebench's own kubeconfig file, which kind
// only empties, and leaves one it was given.
func TestDeleteRemovesOwnKubeconfig(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	given := filepath.Join(t.TempDir(), "given")
	for _, tc := range []struct {
		name     string
		opts     []Option
		wantKept bool
	}{
		{name: "own", opts: nil},
		{name: "given", opts: []Option{WithKubeconfigPath(given)}, wantKept: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &oneCluster{}
			p := New(append([]Option{WithName("t"), WithBackend(b)}, tc.opts...)...)
			path := p.kubeconfigFile()
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			// What kind's Create would write, for loadRestConfig.
			if err := os.WriteFile(path, []byte("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"https://127.0.0.1:1\"}}]\ncontexts: [{name: c, context: {cluster: c}}]\ncurrent-context: c\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := p.Create(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := p.Cleanup(context.Background()); err != nil {
				t.Fatal(err)
			}
			if !b.deleted {
				t.Fatal("cluster not deleted")
			}
			_, err := os.Stat(path)
			if kept := err == nil; kept != tc.wantKept {
				t.Errorf("kubeconfig %s kept: %v, want %v", path, kept, tc.wantKept)
			}
		})
	}
}

// TestHostsTOML: a mirror in containerd's hosts.toml form, Docker Hub's
// server being registry-1.docker.io.
func TestHostsTOML(t *testing.T) {
	got := hostsTOML("docker.io", "http://10.89.0.1:5001")
	want := "server = \"https://registry-1.docker.io\"\n\n[host.\"http://10.89.0.1:5001\"]\n  capabilities = [\"pull\", \"resolve\"]\n"
	if got != want {
		t.Errorf("hosts.toml:\n%s\nwant\n%s", got, want)
	}
	if got := hostsTOML("quay.io", "https://m.example"); !strings.HasPrefix(got, `server = "https://quay.io"`) {
		t.Errorf("quay.io: %s", got)
	}
}

// TestNodeIndex: every node of a kind cluster gets a pod subnet of its
// own, the control plane the one the node image was made with.
func TestNodeIndex(t *testing.T) {
	seen := map[string]string{}
	for name, want := range map[string]string{"b-control-plane": "10.244.0.0/24", "b-worker": "10.244.1.0/24", "b-worker2": "10.244.2.0/24", "b-worker10": "10.244.10.0/24"} {
		got := podSubnet(nodeIndex(name))
		if got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
		if other, ok := seen[got]; ok {
			t.Errorf("%s and %s share %s", name, other, got)
		}
		seen[got] = name
	}
}
