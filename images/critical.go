package images

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
)

// The factory hands a free slot to the waiting step with the longest chain
// of work behind it (critical path first): the Kubernetes compile, and the
// node image that waits for it, go before compiles that nothing waits on.
// How long a step takes comes from the last time this cache folder built
// it (Durations), or from Estimates for a step it never built.

// task is one step of the factory's plan: the steps it waits for, the slot
// it holds ("" for none) and how long it is expected to take.
type task struct {
	step    string // as the scheduler names it
	slot    Slot
	seconds float64
	after   []string
}

// Durations are how long each step took the last time it was built, by the
// step of its Timing row ("go k8s.io/kubernetes@v1.34.1", "rootfs buildah").
type Durations map[string]Timing

// DurationsFile keeps Durations in the cache folder: a run that finds
// everything cached leaves the durations of the last build as they were.
const DurationsFile = "durations.json"

// LoadDurations reads a durations file; a missing one is no durations.
func LoadDurations(path string) (Durations, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Durations{}, nil
	}
	if err != nil {
		return nil, err
	}
	d := Durations{}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("%s: %w (delete it: the next build writes it again)", path, err)
	}
	return d, nil
}

// Merge records the steps of ts that were built, not found in the cache.
func (d Durations) Merge(ts []Timing) {
	for _, t := range ts {
		if !t.Cached && t.DownloadSeconds+t.BuildSeconds > 0 {
			d[t.Step] = Timing{Step: t.Step, Kind: t.Kind, DownloadSeconds: t.DownloadSeconds, BuildSeconds: t.BuildSeconds}
		}
	}
}

// Save writes a durations file.
func (d Durations) Save(path string) error {
	data, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Estimates are the durations of a cold build on a 2-core machine of ours
// (docs/ci.md), for the steps a cache folder has not built yet: module
// downloads and compiles, root filesystems, the node image's assembly.
var Estimates = Durations{
	"go k8s.io/kubernetes@v1.34.1":                      {DownloadSeconds: 31, BuildSeconds: 1132},
	"go github.com/tektoncd/pipeline@v1.15.0":           {DownloadSeconds: 49, BuildSeconds: 480},
	"go github.com/moby/buildkit@v0.34.2":               {DownloadSeconds: 26, BuildSeconds: 228},
	"go github.com/coredns/coredns@v1.12.1":             {DownloadSeconds: 10, BuildSeconds: 90},
	"go github.com/GoogleContainerTools/kaniko@v1.24.0": {DownloadSeconds: 49, BuildSeconds: 177},
	"go github.com/chainguard-dev/kaniko@v1.25.5":       {DownloadSeconds: 45, BuildSeconds: 158},
	"go github.com/distribution/distribution/v3@v3.1.2": {DownloadSeconds: 5, BuildSeconds: 60},
	"go github.com/tektoncd/triggers@v0.37.0":           {DownloadSeconds: 11, BuildSeconds: 77},
	"go go.etcd.io/etcd/server/v3@v3.6.4":               {DownloadSeconds: 14, BuildSeconds: 49},
	"go github.com/go-git/go-git/v5@v5.19.3":            {DownloadSeconds: 3, BuildSeconds: 30},
	"go github.com/Shopify/toxiproxy/v2@v2.12.0":        {DownloadSeconds: 3, BuildSeconds: 13},
	"rootfs nodejs":     {DownloadSeconds: 250},
	"rootfs debian":     {DownloadSeconds: 130},
	"rootfs git":        {DownloadSeconds: 95},
	"rootfs buildkit":   {DownloadSeconds: 89},
	"rootfs kind-node":  {DownloadSeconds: 87},
	"rootfs buildah":    {DownloadSeconds: 79},
	"rootfs kube-proxy": {DownloadSeconds: 72},
	nodeAssemblyStep:    {BuildSeconds: 20},
	nodeImportStep:      {BuildSeconds: 12},
}

// of returns a step's expected download and build seconds: measured here,
// else estimated, else a guess by kind.
func (d Durations) of(step, kind string) (download, build float64) {
	for _, from := range []Durations{d, Estimates} {
		if t, ok := from[step]; ok {
			return t.DownloadSeconds, t.BuildSeconds
		}
	}
	switch kind {
	case "go":
		return 30, 120
	case "rootfs":
		return 60, 0
	case "node":
		return 0, 60
	}
	return 0, 5 // an image assembled from what its steps made
}

// The steps of the plan, named as the scheduler and the timing table name
// them.
func goStep(b GoBuild) string       { return "go " + b.Module + "@" + b.Version }
func downloadStep(b GoBuild) string { return goStep(b) + " (download)" }
func compileStep(b GoBuild) string  { return goStep(b) + " (compile)" }
func rootfsStep(r Rootfs) string    { return "rootfs " + r.Name }
func imageStep(s Spec) string       { return "image " + s.Name }

const (
	nodeAssemblyStep = "node root filesystem"
	nodeImportStep   = "node image: docker import"
)

// plan lists the tasks that build specs and, when node is set, the node
// image with its Kubernetes build and the images it preloads.
func (d Durations) plan(specs []Spec, node bool, k8s GoBuild, preload []Spec) []task {
	seen := map[string]bool{}
	var tasks []task
	add := func(t task) string {
		if !seen[t.step] {
			seen[t.step] = true
			tasks = append(tasks, t)
		}
		return t.step
	}
	build := func(b GoBuild) string {
		dl, c := d.of(goStep(b), "go")
		add(task{step: downloadStep(b), slot: Network, seconds: dl})
		return add(task{step: compileStep(b), slot: CPU, seconds: c, after: []string{downloadStep(b)}})
	}
	rootfs := func(r Rootfs) string {
		dl, _ := d.of(rootfsStep(r), "rootfs")
		return add(task{step: rootfsStep(r), slot: Unpack, seconds: dl})
	}
	image := func(s Spec) string {
		var after []string
		if s.Rootfs != nil {
			after = append(after, rootfs(*s.Rootfs))
		}
		for _, b := range s.Binaries {
			after = append(after, build(b.Build))
		}
		_, sec := d.of(imageStep(s), "image")
		return add(task{step: imageStep(s), seconds: sec, after: after})
	}
	for _, s := range specs {
		image(s)
	}
	if node {
		after := []string{rootfs(nodeRootfs), build(k8s)}
		for _, s := range preload {
			after = append(after, image(s))
		}
		_, assemble := d.of(nodeAssemblyStep, "node")
		add(task{step: nodeAssemblyStep, seconds: assemble, after: after})
		_, load := d.of(nodeImportStep, "node")
		add(task{step: nodeImportStep, seconds: load, after: []string{nodeAssemblyStep}})
	}
	return tasks
}

// criticalPaths gives each task the seconds of the longest chain of tasks
// from its start to the end of the plan.
func criticalPaths(tasks []task) map[string]float64 {
	next := map[string][]string{}
	seconds := map[string]float64{}
	for _, t := range tasks {
		seconds[t.step] = t.seconds
		for _, a := range t.after {
			next[a] = append(next[a], t.step)
		}
	}
	path := map[string]float64{}
	var chain func(step string) float64
	chain = func(step string) float64 {
		if p, ok := path[step]; ok {
			return p
		}
		longest := 0.0
		for _, n := range next[step] {
			longest = max(longest, chain(n))
		}
		path[step] = seconds[step] + longest
		return path[step]
	}
	for _, t := range tasks {
		chain(t.step)
	}
	return path
}

// simulated is a task of a simulated build: when it starts and ends.
type simulated struct {
	step       string
	start, end float64
}

// simulate runs the plan on slots as the scheduler does (a free slot goes
// to the ready task of highest priority, the first listed among equals)
// and returns the tasks in the order they start, and when the last ends.
func simulate(tasks []task, slots map[Slot]int, priority map[string]float64) ([]simulated, float64) {
	free := maps.Clone(slots)
	done := map[string]bool{}
	pending := slices.Clone(tasks)
	slices.SortStableFunc(pending, func(a, b task) int { return cmp.Compare(priority[b.step], priority[a.step]) })
	type running struct {
		task
		end float64
	}
	var run []running
	var order []simulated
	now := 0.0
	for len(pending) > 0 || len(run) > 0 {
		for i := 0; i < len(pending); {
			t := pending[i]
			ready := !slices.ContainsFunc(t.after, func(a string) bool { return !done[a] })
			if !ready || (t.slot != "" && free[t.slot] == 0) {
				i++
				continue
			}
			if t.slot != "" {
				free[t.slot]--
			}
			run = append(run, running{t, now + t.seconds})
			order = append(order, simulated{step: t.step, start: now, end: now + t.seconds})
			pending = slices.Delete(pending, i, i+1)
		}
		if len(run) == 0 {
			break // what is left waits for a step not in the plan
		}
		slices.SortStableFunc(run, func(a, b running) int { return cmp.Compare(a.end, b.end) })
		now = run[0].end
		for len(run) > 0 && run[0].end == now {
			done[run[0].step] = true
			if run[0].slot != "" {
				free[run[0].slot]++
			}
			run = run[1:]
		}
	}
	return order, now
}

// inputs maps each step of the timing table to the steps it waited for,
// from the plan: a Go build's download and compile are one row.
func inputs(tasks []task) map[string][]string {
	row := func(step string) string {
		for _, suffix := range []string{" (download)", " (compile)"} {
			step = strings.TrimSuffix(step, suffix)
		}
		return step
	}
	deps := map[string][]string{}
	for _, t := range tasks {
		for _, a := range t.after {
			if r := row(a); r != row(t.step) && !slices.Contains(deps[row(t.step)], r) {
				deps[row(t.step)] = append(deps[row(t.step)], r)
			}
		}
	}
	return deps
}

// CriticalPath is the chain of steps that decided when the build ended:
// the step that ended last, then, going back, the input of each that
// ended last, in the order they ran.
func CriticalPath(ts []Timing, deps map[string][]string) []Timing {
	byStep := map[string]Timing{}
	var last *Timing
	for _, t := range ts {
		if t.Cached {
			continue
		}
		byStep[t.Step] = t
		if last == nil || t.EndSeconds > last.EndSeconds {
			last = &t
		}
	}
	var chain []Timing
	for last != nil {
		chain = append(chain, *last)
		var next *Timing
		for _, d := range deps[last.Step] {
			if t, ok := byStep[d]; ok && (next == nil || t.EndSeconds > next.EndSeconds) {
				next = &t
			}
		}
		last = next
	}
	slices.Reverse(chain)
	return chain
}

// FormatPath writes a critical path on one line.
func FormatPath(chain []Timing) string {
	var parts []string
	for _, t := range chain {
		parts = append(parts, fmt.Sprintf("%s (ended at %s)", t.Step, dur(t.EndSeconds)))
	}
	return strings.Join(parts, " -> ")
}
