package bench

import (
	"archive/tar"
	"bytes"
	"io"
	"io/fs"
	"maps"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/cachebench/cachebench/scenarios"
)

// layerOf is a layer holding files (absolute path -> content), each of
// mode.
func layerOf(files map[string]string, mode int64, opts ...tarball.LayerOption) (v1.Layer, error) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, p := range slices.Sorted(maps.Keys(files)) {
		if err := tw.WriteHeader(&tar.Header{Name: strings.TrimPrefix(p, "/"), Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(files[p]))}); err != nil {
			return nil, err
		}
		if _, err := tw.Write([]byte(files[p])); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b.Bytes())), nil }, opts...)
}

// testLayer is a layer holding files (absolute path -> content).
func testLayer(t *testing.T, files map[string]string) v1.Layer {
	t.Helper()
	l, err := layerOf(files, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// pushAndReadBack writes img to a registry and reads it back by digest, as
// the harness reads a run's image.
func pushAndReadBack(t *testing.T, host string, img v1.Image) v1.Image {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag(host+"/bench/smoke:run", name.Insecure)
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	ref, _ := name.NewDigest(host+"/bench/smoke@"+d.String(), name.Insecure)
	back, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

// TestImageCheckCatchesAStaleLayer: after a source change, an image whose
// copy layer is the one built from the commit before (a stale layer served
// from a cache under a key that missed the change) is a problem naming the
// file and the missing change; the image built from the commit passes, and
// after a base change an image on the earlier base's configuration is a
// finding.
func TestImageCheckCatchesAStaleLayer(t *testing.T) {
	ws, err := scenarios.SelectWorkloads([]string{"smoke"})
	if err != nil {
		t.Fatal(err)
	}
	w := ws[0]
	before := map[string][]byte{}
	err = fs.WalkDir(w.Files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		before[p], err = fs.ReadFile(w.Files, p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	const token = "run-7"
	after := maps.Clone(before)
	after[w.SourceFile] = append(slices.Clone(before[w.SourceFile]), scenarios.ChangeLine(w.SourceFile, token)+"\n"...)
	copied := func(commit map[string][]byte) map[string]string {
		files := map[string]string{}
		for p, data := range commit {
			if rest, ok := strings.CutPrefix(p, "app/"); ok {
				files["/app/"+rest] = string(data)
			}
		}
		return files
	}
	base := testLayer(t, map[string]string{"/etc/os-release": "debian", "/app/placeholder": "from the base"})
	run := testLayer(t, map[string]string{"/usr/bin/hello": "hello"})
	build := func(commit map[string][]byte, label string) v1.Image {
		img, err := mutate.AppendLayers(empty.Image, base, run, testLayer(t, copied(commit)))
		if err != nil {
			t.Fatal(err)
		}
		if label != "" {
			img, err = mutate.Config(img, v1.Config{Labels: map[string]string{ChangeLabel: label}})
			if err != nil {
				t.Fatal(err)
			}
		}
		return img
	}
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	wantFiles := len(copied(after))

	fresh := pushAndReadBack(t, host, build(after, ""))
	check, problems, findings, err := InspectImage(fresh, w, after, imageEdit{change: scenarios.ChangeSource, token: token})
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 || len(findings) > 0 || check.Files != wantFiles {
		t.Errorf("the image of the commit: %d files checked (want %d), problems %q, findings %q", check.Files, wantFiles, problems, findings)
	}

	stale := pushAndReadBack(t, host, build(before, ""))
	check, problems, _, err = InspectImage(stale, w, after, imageEdit{change: scenarios.ChangeSource, token: token})
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || !strings.Contains(problems[0], "/"+w.SourceFile) || !strings.Contains(problems[0], "lacks this run's change") {
		t.Errorf("the stale image: problems %q, want one naming /%s and the missing change", problems, w.SourceFile)
	}
	if check.Files != wantFiles-1 {
		t.Errorf("the stale image: %d files as committed, want %d", check.Files, wantFiles-1)
	}

	// A file the commit has that the image lacks.
	missing := maps.Clone(after)
	missing["app/new.txt"] = []byte("new\n")
	if _, problems, _, _ := InspectImage(fresh, w, missing, imageEdit{}); len(problems) != 1 || !strings.Contains(problems[0], "has no /app/new.txt") {
		t.Errorf("a file the image lacks: problems %q", problems)
	}

	for _, tt := range []struct{ label, wantFinding string }{{token, ""}, {"run-3", `is "run-3"`}, {"", `is ""`}} {
		img := pushAndReadBack(t, host, build(before, tt.label))
		_, problems, findings, err := InspectImage(img, w, before, imageEdit{change: scenarios.ChangeBase, token: token})
		if err != nil || len(problems) > 0 {
			t.Fatalf("base change, label %q: %v, problems %q", tt.label, err, problems)
		}
		if got := strings.Join(findings, "\n"); (tt.wantFinding == "") != (got == "") || !strings.Contains(got, tt.wantFinding) {
			t.Errorf("base change, label %q: findings %q, want one saying %q", tt.label, findings, tt.wantFinding)
		}
	}
}
