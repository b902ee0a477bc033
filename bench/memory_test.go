package bench

import (
	"strings"
	"testing"
)

func TestCheckMemory(t *testing.T) {
	const gb = 1 << 30
	// The nightly's cluster (2 workers, 2 builds at once) fits a machine of ours.
	if err := checkMemory(2, 2, 20*gb); err != nil {
		t.Errorf("2 nodes, 2 at once, 20 GiB available: %v", err)
	}
	if need := memoryNeed(3, 4); need != controlPlaneMemory+3*workerMemory+4*buildMemory {
		t.Errorf("3 workers, 4 at once: need %d", need)
	}
	if memoryNeed(1, 1) != controlPlaneMemory+buildMemory {
		t.Error("one node has no worker beside its control plane")
	}
	err := checkMemory(8, 32, 20*gb)
	if err == nil {
		t.Fatal("8 workers and 32 builds at once fit 20 GiB")
	}
	for _, want := range []string{"--nodes 8", "--concurrency up to 32", "needs about " + gib(memoryNeed(8, 32)), "20 GiB available", "0.75 GiB each", "8 workers"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal %q lacks %q", err, want)
		}
	}
	if err := checkMemory(1, 1, memoryNeed(1, 1)-1); err == nil || strings.Contains(err.Error(), "workers") {
		t.Errorf("one node short of memory: %v", err)
	}
}
