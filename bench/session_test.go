package bench

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/cachebench/cachebench/scenarios"
)

func TestGitCopyNotes(t *testing.T) {
	builtin, err := scenarios.SelectWorkloads([]string{"small", "gobuild"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		ws      []scenarios.Workload
		want    []string // each note's must-haves; one entry per note
		wantErr string
	}{
		{"none", nil, nil, ""},
		{"only gobuild copies its whole context", builtin, []string{"Workload gobuild copies the clone's .git into its image (Dockerfile, line 14: COPY . .)"}, ""},
		{"a workload without its Dockerfile", []scenarios.Workload{{Name: "app", Files: fstest.MapFS{}, Dockerfile: "Dockerfile", Context: "."}}, nil, "workload app:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := gitCopyNotes(tt.ws)
			if tt.wantErr != "" {
				if err == nil || strings.Count(err.Error(), tt.wantErr) != 1 {
					t.Fatalf("gitCopyNotes() error = %v, want one containing %q once", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("gitCopyNotes() = %q, want %d notes", got, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) || !strings.Contains(got[i], ".dockerignore naming .git") {
					t.Errorf("note %d = %q, want it to contain %q and the fix", i, got[i], w)
				}
			}
		})
	}
}
