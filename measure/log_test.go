package measure

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestParseTimestampedKeepsUntimedLines(t *testing.T) {
	lines := ParseTimestamped("2026-11-26T13:00:00.5Z first\ncontinued\n")
	if len(lines) != 2 || lines[1].Text != "continued" || !lines[1].Time.Equal(time.Date(2026, 11, 26, 13, 0, 0, 5e8, time.UTC)) {
		t.Fatalf("lines = %+v", lines)
	}
}

// testdata/events-offline-build-pod.json holds the events of a real build
// pod on an offline node: every image was already present.
func TestPullsOfflineNode(t *testing.T) {
	raw, err := os.ReadFile("testdata/events-offline-build-pod.json")
	if err != nil {
		t.Fatal(err)
	}
	var list corev1.EventList
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) == 0 {
		t.Fatal("no events in the fixture")
	}
	if got := Pulls("pod", list.Items); len(got) != 0 {
		t.Fatalf("images already present are not pulls: %+v", got)
	}
}

func TestTail(t *testing.T) {
	if got := Tail("a\nb\nc\n", 2); got != "b\nc" {
		t.Fatalf("Tail = %q", got)
	}
}
