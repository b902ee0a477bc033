package scenarios

import (
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/cachebench/cachebench/results"
)

const reg = "registry.cachebench.svc.cluster.local:5000"

var bases = map[string]string{"debian": reg + "/base/debian:bookworm", "golang": reg + "/base/golang:1.26.8-bookworm", "node": reg + "/base/node:18-bookworm"}

func TestWorkloadsHaveTheirFiles(t *testing.T) {
	ws, err := Workloads()
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) < 2 {
		t.Fatalf("want at least two workloads, got %d", len(ws))
	}
	for _, w := range ws {
		t.Run(w.Name, func(t *testing.T) {
			df, err := fs.ReadFile(w.Files, w.Dockerfile)
			if err != nil {
				t.Fatalf("Dockerfile: %v", err)
			}
			if !strings.Contains(string(df), "ARG BASE_REGISTRY") {
				t.Error("Dockerfile must take its base images from BASE_REGISTRY")
			}
			for _, b := range w.Bases {
				if _, ok := bases[b]; !ok {
					t.Errorf("unknown base image %q", b)
				}
			}
			// BuildKit's parser finds exactly the declared bases in its FROM lines.
			froms, err := BaseImages(df, []string{"BASE_REGISTRY=" + reg})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range froms {
				if !slices.Contains(got, f.Image) {
					got = append(got, f.Image)
				}
			}
			var want []string
			for _, b := range w.Bases {
				want = append(want, bases[b])
			}
			if !slices.Equal(got, want) {
				t.Errorf("FROM lines name %v, want the declared bases %v", got, want)
			}
			if w.StampArg != "" && !strings.Contains(string(df), "ARG "+w.StampArg) {
				t.Errorf("Dockerfile does not declare its stamp argument %s", w.StampArg)
			}
		})
	}
}

func TestManyFiles(t *testing.T) {
	ws, err := SelectWorkloads([]string{"manyfiles", "manyfiles"})
	if err != nil {
		t.Fatal(err)
	}
	count := func(w Workload) (n int, size int) {
		fs.WalkDir(w.Files, "src", func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				data, _ := fs.ReadFile(w.Files, p)
				n, size = n+1, size+len(data)
			}
			return err
		})
		return n, size
	}
	n, size := count(ws[0])
	if n != manyFileCount {
		t.Errorf("%d files under src/, want %d", n, manyFileCount)
	}
	if n2, size2 := count(ws[1]); n2 != n || size2 != size {
		t.Errorf("generated twice: %d files, %d bytes, then %d, %d: the commit would change", n, size, n2, size2)
	}
	t.Logf("%d files, %.1f MB", n, float64(size)/1e6)
}

func TestSelectWorkloads(t *testing.T) {
	if _, err := SelectWorkloads([]string{"small", "gobuild"}); err != nil {
		t.Fatal(err)
	}
	_, err := SelectWorkloads([]string{"smal"})
	if err == nil || !strings.Contains(err.Error(), `"smal"`) || !strings.Contains(err.Error(), "small") {
		t.Fatalf("want an error naming the bad workload and the choices, got %v", err)
	}
}

// results reads runs recorded before --change as their workload's default
// change: the two must agree for every built-in workload (a user's
// workload has no stamp argument, so its default is none there too).
func TestDefaultChangeAgreesWithResults(t *testing.T) {
	ws, err := Workloads()
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		if got, want := results.DefaultChange(w.Name), string(w.DefaultChange()); got != want {
			t.Errorf("%s: results says %s, the workload %s", w.Name, got, want)
		}
		for _, c := range Changes {
			if w.CheckChange(c) == nil && w.ChangedFile(c) != "" {
				if _, err := fs.Stat(w.Files, w.ChangedFile(c)); err != nil {
					t.Errorf("%s: --change %s edits %s: %v", w.Name, c, w.ChangedFile(c), err)
				}
			}
		}
	}
	if got := results.DefaultChange("webapp"); got != string(ChangeNone) {
		t.Errorf("a user's workload defaults to %s", got)
	}
	if results.ChangeMix != string(ChangeMix) || slices.Contains(Changes, ChangeMix) {
		t.Errorf("the mix's change is %q in results and %q here, and must not be a pattern of its own", results.ChangeMix, ChangeMix)
	}
}
