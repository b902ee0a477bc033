package kind

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// PodUsage is what the kernel has accounted to a pod's cgroup so far: the
// CPU time of every container it ran (init containers and steps too) and
// the most memory it held at once.
type PodUsage struct {
	CPU        time.Duration
	PeakMemory int64 // bytes
}

// Accounting reads pods' counters from the kernel's own accounting. A kind
// node is a container of this host, so the cgroup of every pod on it is in
// the host's cgroup filesystem, under the node container's cgroup: the
// counters the kubelet itself reads, readable without root. A pod's cgroup
// goes once the pod has ended, so its counters are read while it runs.
type Accounting struct {
	root    fs.FS // the host's cgroup filesystem (/sys/fs/cgroup)
	nodeDir func(ctx context.Context, node string) (v1, v2 map[string]string, err error)

	mu    sync.Mutex
	nodes map[string]nodeCgroups
	pods  map[string]podCgroups // by pod UID
}

// nodeCgroups are a node container's cgroups: on cgroup v1 a path per
// controller, on v2 one path.
type nodeCgroups struct {
	v1 map[string]string // controller -> path
	v2 string
}

// podCgroups are where a pod's counters are, relative to root.
type podCgroups struct {
	cpu, memory string // files
	v2          bool
}

// Accounting returns the reader of the cluster's pods' counters.
func (p *Provider) Accounting() *Accounting {
	return &Accounting{
		root: os.DirFS("/sys/fs/cgroup"),
		nodeDir: func(ctx context.Context, node string) (map[string]string, map[string]string, error) {
			out, err := exec.CommandContext(ctx, "docker", "inspect", "--format", "{{.State.Pid}}", node).Output()
			if err != nil {
				return nil, nil, fmt.Errorf("find node container %s: %w", node, err)
			}
			data, err := os.ReadFile("/proc/" + strings.TrimSpace(string(out)) + "/cgroup")
			if err != nil {
				return nil, nil, err
			}
			v1, v2 := parseProcCgroup(data)
			return v1, v2, nil
		},
		nodes: map[string]nodeCgroups{},
		pods:  map[string]podCgroups{},
	}
}

// parseProcCgroup reads /proc/PID/cgroup of a node's first process: on v1
// a line per hierarchy ("4:cpu,cpuacct:/docker/ID"), on v2 one
// ("0::/system.slice/docker-ID.scope"). The node's systemd moves that
// process into init.scope, beside the kubelet's slice: the node's cgroup
// is the one above it.
func parseProcCgroup(data []byte) (v1, v2 map[string]string) {
	v1, v2 = map[string]string{}, map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		parts[2] = strings.TrimSuffix(parts[2], "/init.scope")
		if parts[0] == "0" && parts[1] == "" {
			v2[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			v1[c] = parts[2]
		}
	}
	return v1, v2
}

// ErrNoCgroup: the pod's cgroup is not (or no longer) on its node.
var ErrNoCgroup = errors.New("no cgroup for the pod on its node")

// PodUsage reads the counters of the pod with uid on node.
func (a *Accounting) PodUsage(ctx context.Context, node, uid string) (PodUsage, error) {
	pc, err := a.podCgroups(ctx, node, uid)
	if err != nil {
		return PodUsage{}, err
	}
	if pc.v2 {
		return readV2(a.root, pc)
	}
	return readV1(a.root, pc)
}

func (a *Accounting) podCgroups(ctx context.Context, node, uid string) (podCgroups, error) {
	a.mu.Lock()
	pc, ok := a.pods[uid]
	nc, known := a.nodes[node]
	a.mu.Unlock()
	if ok {
		return pc, nil
	}
	if !known {
		v1, v2, err := a.nodeDir(ctx, node)
		if err != nil {
			return podCgroups{}, err
		}
		nc = nodeCgroups{v1: v1, v2: v2[""]}
		a.mu.Lock()
		a.nodes[node] = nc
		a.mu.Unlock()
	}
	// The kubelet names a pod's cgroup after its UID: "pod<uid>" with the
	// cgroupfs driver, "kubepods-<qos>-pod<uid with _ for ->.slice" with
	// systemd's.
	names := []string{"pod" + uid, "pod" + strings.ReplaceAll(uid, "-", "_") + ".slice"}
	if cpu, ok := nc.v1["cpuacct"]; ok {
		dir, err := findDir(a.root, path.Join(v1Mount(a.root, "cpuacct"), cpu), names)
		if err != nil {
			return podCgroups{}, err
		}
		rel := strings.TrimPrefix(dir, v1Mount(a.root, "cpuacct")+"/"+strings.TrimPrefix(cpu, "/"))
		mem := path.Join("memory", strings.TrimPrefix(nc.v1["memory"], "/"), rel)
		pc = podCgroups{cpu: path.Join(dir, "cpuacct.usage"), memory: path.Join(mem, "memory.max_usage_in_bytes")}
	} else if nc.v2 != "" {
		dir, err := findDir(a.root, strings.TrimPrefix(nc.v2, "/"), names)
		if err != nil {
			return podCgroups{}, err
		}
		pc = podCgroups{cpu: path.Join(dir, "cpu.stat"), memory: path.Join(dir, "memory.peak"), v2: true}
	} else {
		return podCgroups{}, fmt.Errorf("node %s: no cpuacct or unified cgroup", node)
	}
	a.mu.Lock()
	a.pods[uid] = pc
	a.mu.Unlock()
	return pc, nil
}

// v1Mount is the folder of a v1 controller: "cpuacct" is mounted as
// "cpu,cpuacct" on most hosts, with "cpuacct" a link to it.
func v1Mount(root fs.FS, controller string) string {
	if controller == "cpuacct" {
		if _, err := fs.Stat(root, "cpu,cpuacct"); err == nil {
			return "cpu,cpuacct"
		}
	}
	return controller
}

// findDir finds, at most four levels under dir, a folder named one of names.
func findDir(root fs.FS, dir string, names []string) (string, error) {
	dir = strings.TrimPrefix(dir, "/")
	level := []string{dir}
	for depth := 0; depth < 4 && len(level) > 0; depth++ {
		var next []string
		for _, d := range level {
			entries, err := fs.ReadDir(root, d)
			if err != nil {
				continue
			}
			for _, e := range entries {
				if !e.IsDir() {
					continue
				}
				p := path.Join(d, e.Name())
				for _, n := range names {
					if e.Name() == n || strings.HasSuffix(e.Name(), "-"+n) {
						return p, nil
					}
				}
				next = append(next, p)
			}
		}
		level = next
	}
	return "", ErrNoCgroup
}

func readV1(root fs.FS, pc podCgroups) (PodUsage, error) {
	cpu, err := readInt(root, pc.cpu)
	if err != nil {
		return PodUsage{}, err
	}
	mem, err := readInt(root, pc.memory)
	if err != nil {
		return PodUsage{}, err
	}
	return PodUsage{CPU: time.Duration(cpu), PeakMemory: mem}, nil
}

func readV2(root fs.FS, pc podCgroups) (PodUsage, error) {
	data, err := fs.ReadFile(root, pc.cpu)
	if err != nil {
		return PodUsage{}, notFound(err)
	}
	var u PodUsage
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "usage_usec "); ok {
			us, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return PodUsage{}, fmt.Errorf("%s: %w", pc.cpu, err)
			}
			u.CPU = time.Duration(us) * time.Microsecond
		}
	}
	// memory.peak needs Linux 5.19; without it the peak stays unknown.
	if mem, err := readInt(root, pc.memory); err == nil {
		u.PeakMemory = mem
	}
	return u, nil
}

func readInt(root fs.FS, name string) (int64, error) {
	data, err := fs.ReadFile(root, name)
	if err != nil {
		return 0, notFound(err)
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return v, nil
}

func notFound(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return ErrNoCgroup
	}
	return err
}
