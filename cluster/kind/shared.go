package kind

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	kindv1alpha4 "sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
)

// SharedPath is where every worker of a cluster with several nodes for
// builds mounts one host folder: a hostPath volume under it is the same
// files on every node, a volume shared by the nodes (ReadWriteMany), as
// an NFS share is on a cluster of machines.
const SharedPath = "/cachebench-shared"

// sharedDir is the host folder behind SharedPath, one per cluster.
func (p *Provider) sharedDir() string { return cachePath("shared", p.name) }

// sharedMount mounts the cluster's shared host folder into a worker.
func (p *Provider) sharedMount() []kindv1alpha4.Mount {
	return []kindv1alpha4.Mount{{HostPath: p.sharedDir(), ContainerPath: SharedPath}}
}

// workerNodes are the cluster's worker nodes, sorted by name.
func (p *Provider) workerNodes() ([]nodes.Node, error) {
	p.SetDefaults()
	all, err := p.kind.ListInternalNodes(p.name)
	if err != nil {
		return nil, fmt.Errorf("list nodes of %q: %w", p.name, err)
	}
	var workers []nodes.Node
	for _, n := range all {
		if role, err := n.Role(); err == nil && role == "worker" {
			workers = append(workers, n)
		}
	}
	return workers, nil
}

// CheckShared proves that SharedPath is one folder on every worker: a
// file written on the first is read on each of the others. A cluster
// made before the folder was mounted (reused) fails it.
func (p *Provider) CheckShared(ctx context.Context) error {
	workers, err := p.workerNodes()
	if err != nil {
		return err
	}
	if len(workers) < 2 {
		return fmt.Errorf("kind cluster %q has %d worker nodes: a shared volume needs 2 or more (--nodes)", p.name, len(workers))
	}
	probe := path.Join(SharedPath, ".probe-"+rand.Text())
	if err := workers[0].CommandContext(ctx, "sh", "-c", `echo "$1" > "$2"`, "-", p.name, probe).Run(); err != nil {
		return p.notShared(fmt.Errorf("write %s on node %s: %w", probe, workers[0], err))
	}
	defer workers[0].CommandContext(context.WithoutCancel(ctx), "rm", "-f", probe).Run()
	for _, n := range workers[1:] {
		var out bytes.Buffer
		if err := n.CommandContext(ctx, "cat", probe).SetStdout(&out).Run(); err != nil || strings.TrimSpace(out.String()) != p.name {
			return p.notShared(fmt.Errorf("node %s does not see the file node %s wrote to %s", n, workers[0], SharedPath))
		}
	}
	return nil
}

func (p *Provider) notShared(err error) error {
	return fmt.Errorf("kind cluster %q has no folder shared by its nodes (%w): it was made without one; delete it (cachebench cluster down --cluster-name %s) and let the benchmark make it", p.name, err, p.name)
}

// RemoveShared removes a folder under SharedPath, through a worker: the
// pods that wrote it ran as root, so its files may not be the user's.
func (p *Provider) RemoveShared(ctx context.Context, name string) error {
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return fmt.Errorf("remove shared folder %q: not a folder name", name)
	}
	workers, err := p.workerNodes()
	if err != nil {
		return err
	}
	if len(workers) == 0 {
		return fmt.Errorf("remove shared folder %s: kind cluster %q has no worker nodes", name, p.name)
	}
	dir := path.Join(SharedPath, name)
	if err := workers[0].CommandContext(ctx, "rm", "-rf", dir).Run(); err != nil {
		return fmt.Errorf("remove %s on node %s: %w", dir, workers[0], err)
	}
	return nil
}

// emptyShared empties the shared folder through a worker, while the
// cluster still runs: its files are root's.
func (p *Provider) emptyShared(ctx context.Context) {
	if _, err := os.Stat(p.sharedDir()); errors.Is(err, os.ErrNotExist) {
		return
	}
	workers, err := p.workerNodes()
	if err != nil || len(workers) == 0 {
		return
	}
	if err := workers[0].CommandContext(ctx, "find", SharedPath, "-mindepth", "1", "-delete").Run(); err != nil {
		p.log.Warnf("empty %s on node %s: %v", SharedPath, workers[0], err)
	}
}

// removeSharedDir removes the shared folder from the host.
func (p *Provider) removeSharedDir() error {
	dir := p.sharedDir()
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove the shared folder of kind cluster %q: %w (its pods wrote it as root: remove it with sudo rm -rf %s)", p.name, err, dir)
	}
	return nil
}
