package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/e2e-framework/klient"
	"sigs.k8s.io/e2e-framework/support"

	"github.com/cachebench/cachebench/cluster/kind"
)

// Existing is a cluster cachebench did not create: Create connects to it,
// Destroy leaves it alone.
type Existing struct {
	Path string
	cfg  *rest.Config
}

var _ support.E2EClusterProvider = (*Existing)(nil)

func (e *Existing) WithName(string) support.E2EClusterProvider                 { return e }
func (e *Existing) WithVersion(string) support.E2EClusterProvider              { return e }
func (e *Existing) WithPath(string) support.E2EClusterProvider                 { return e }
func (e *Existing) WithOpts(...support.ClusterOpts) support.E2EClusterProvider { return e }
func (e *Existing) SetDefaults() support.E2EClusterProvider                    { return e }

// Create loads the kubeconfig.
func (e *Existing) Create(ctx context.Context, args ...string) (string, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", e.Path)
	if err != nil {
		return "", fmt.Errorf("load kubeconfig %s: %w", e.Path, err)
	}
	e.cfg = cfg
	return e.Path, nil
}

func (e *Existing) CreateWithConfig(ctx context.Context, _ string) (string, error) {
	return e.Create(ctx)
}
func (e *Existing) GetKubeconfig() string                        { return e.Path }
func (e *Existing) GenerateKubeconfig(...string) (string, error) { return e.Path, nil }
func (e *Existing) GetKubectlContext() string                    { return "" }
func (e *Existing) ExportLogs(context.Context, string) error     { return nil }
func (e *Existing) Destroy(context.Context) error                { return nil }
func (e *Existing) KubernetesRestConfig() *rest.Config           { return e.cfg }

// WaitForControlPlane checks that the nodes are ready.
func (e *Existing) WaitForControlPlane(ctx context.Context, _ klient.Client) error {
	if e.cfg == nil {
		return errors.New("wait for control plane: not connected")
	}
	return kind.WaitForControlPlane(ctx, e.cfg, 2*time.Minute)
}
