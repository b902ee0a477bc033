package bench

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// What a kind cluster's node containers hold, rounded up from what they
// held at their most in benchmarks of workload small on 2 workers at up
// to 8 builds at once (docs/results.md, "Builds at once"): the control
// plane with the harness's registries and servers (1.24 GiB), a worker
// between builds (384 MiB), and a build's pod (747 MiB). Larger workloads
// need more per build.
const (
	controlPlaneMemory int64 = 1536 << 20
	workerMemory       int64 = 512 << 20
	buildMemory        int64 = 768 << 20
)

// memoryNeed is about what a kind cluster with nodes build nodes needs
// to run level builds at once.
func memoryNeed(nodes, level int) int64 {
	need := controlPlaneMemory + int64(max(level, 1))*buildMemory
	if nodes > 1 {
		need += int64(nodes) * workerMemory
	}
	return need
}

// checkMemory refuses a kind cluster that the memory available on this
// machine cannot hold: its builds would be killed for memory, or the API
// server with them, long after the benchmark started.
func checkMemory(nodes, level int, available int64) error {
	need := memoryNeed(nodes, level)
	if need <= available {
		return nil
	}
	what := fmt.Sprintf("a control plane (%s)", gib(controlPlaneMemory))
	if nodes > 1 {
		what += fmt.Sprintf(", %d workers (%s each)", nodes, gib(workerMemory))
	}
	what += fmt.Sprintf(" and %d builds at once (%s each, for workload small)", max(level, 1), gib(buildMemory))
	return fmt.Errorf("--nodes %d with --concurrency up to %d needs about %s of memory: %s; this machine has %s available. Give fewer --nodes, lower --concurrency levels, or a larger cluster (--kubeconfig)",
		nodes, max(level, 1), gib(need), what, gib(available))
}

// gib gives bytes in GiB to two decimals at most: 0.75, 1.5, 22.68.
func gib(b int64) string {
	return strconv.FormatFloat(math.Round(float64(b)/(1<<30)*100)/100, 'f', -1, 64) + " GiB"
}

// meminfo reads a field of /proc/meminfo, in bytes.
func meminfo(field string) (int64, bool) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) >= 2 && fields[0] == field+":" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}
