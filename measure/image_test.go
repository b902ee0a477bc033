package measure

import (
	"archive/tar"
	"bytes"
	"io"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// entry is a tar entry of a test layer: a file "name=content", a directory
// "name/", a symbolic link "name->target" or a hard link "name=>target".
func layer(t *testing.T, entries ...string) v1.Layer {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		var h tar.Header
		var data []byte
		switch {
		case strings.Contains(e, "=>"):
			n, target, _ := strings.Cut(e, "=>")
			h = tar.Header{Name: n, Typeflag: tar.TypeLink, Linkname: target}
		case strings.Contains(e, "->"):
			n, target, _ := strings.Cut(e, "->")
			h = tar.Header{Name: n, Typeflag: tar.TypeSymlink, Linkname: target}
		case strings.Contains(e, "="):
			n, content, _ := strings.Cut(e, "=")
			data = []byte(content)
			h = tar.Header{Name: n, Typeflag: tar.TypeReg, Size: int64(len(data)), Mode: 0o644}
		default:
			h = tar.Header{Name: e, Typeflag: tar.TypeDir, Mode: 0o755}
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
	}
	tw.Close()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// countingLayer counts the reads of a layer's content.
type countingLayer struct {
	v1.Layer
	reads *int
}

func (l countingLayer) Uncompressed() (io.ReadCloser, error) {
	*l.reads++
	return l.Layer.Uncompressed()
}

func TestReadImageFiles(t *testing.T) {
	var baseReads int
	base := countingLayer{layer(t, "etc/", "etc/os-release=debian", "app/", "app/old.sh=old", "app/keep.sh=keep", "srv/", "srv/a=1", "srv/b=2"), &baseReads}
	img, err := mutate.AppendLayers(empty.Image,
		base,
		layer(t, "app/greet.sh=v1", "./app/link->greet.sh"),
		layer(t, "app/.wh.old.sh", "srv/.wh..wh..opq", "srv/c=3", "app/hard=>app/greet.sh"),
		layer(t, "app/greet.sh=v2", "data/sub/x=y"),
	)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadImageFiles(img, []string{"/app/greet.sh", "/app/old.sh", "/srv/a", "/srv/c", "/app/link", "/app/hard", "/data", "/nothing"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]ImageEntry{
		"/app/greet.sh": {Found: true, Data: []byte("v2")}, // the top layer's
		"/app/old.sh":   {},                                // deleted by a whiteout
		"/srv/a":        {},                                // hidden by an opaque directory
		"/srv/c":        {Found: true, Data: []byte("3")},
		"/app/link":     {Found: true, Symlink: "greet.sh"},
		"/app/hard":     {Found: true, Hardlink: "/app/greet.sh"},
		"/data":         {Found: true, Dir: true},
		"/nothing":      {},
	}
	for p, w := range want {
		g := got[p]
		if g.Found != w.Found || g.Dir != w.Dir || string(g.Data) != string(w.Data) || g.Symlink != w.Symlink || g.Hardlink != w.Hardlink {
			t.Errorf("%s: %+v, want %+v", p, g, w)
		}
	}
	if baseReads != 1 {
		t.Errorf("the base layer was read %d times, want once (a path is in no layer)", baseReads)
	}

	// Paths the upper layers settle leave the base layer unread.
	baseReads = 0
	if _, err := ReadImageFiles(img, []string{"/app/greet.sh", "/srv/c", "/app/old.sh"}); err != nil {
		t.Fatal(err)
	}
	if baseReads != 0 {
		t.Errorf("the base layer was read %d times for files of the upper layers", baseReads)
	}
}
