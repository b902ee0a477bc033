package images

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/cachebench/cachebench/log"
)

// TestDamagedArchiveIsRebuilt: an archive in the cache whose bytes no
// longer match the digest sealed beside it (a disk that filled up, a copy
// cut short) is named in the log and built again, never handed out.
func TestDamagedArchiveIsRebuilt(t *testing.T) {
	dir := t.TempDir()
	spec := Spec{Name: "seal", Refs: []string{Ref("seal", "v1")}, Files: []File{{Path: "/hello", Data: []byte(strings.Repeat("hello\n", 4096))}}}
	build := func(t *testing.T) (Archive, string) {
		t.Helper()
		var logged bytes.Buffer
		f, err := NewFactory(WithCacheDir(dir), WithMinFreeGiB(0), WithLogger(log.New(&logged, false)))
		if err != nil {
			t.Fatal(err)
		}
		a, err := f.Build(context.Background(), spec)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tarball.ImageFromPath(a.Path, nil); err != nil {
			t.Fatalf("the archive handed out does not open: %v", err)
		}
		return a, logged.String()
	}
	a, _ := build(t)
	whole, err := os.ReadFile(a.Path)
	if err != nil {
		t.Fatal(err)
	}
	if _, logged := build(t); strings.Contains(logged, "again") {
		t.Fatalf("a whole archive was built again:\n%s", logged)
	}
	for _, damage := range []struct {
		name string
		do   func() error
	}{
		{"cut short", func() error { return os.WriteFile(a.Path, whole[:len(whole)/2], 0o644) }},
		{"a byte changed", func() error {
			b := bytes.Clone(whole)
			b[len(b)/2] ^= 0xff
			return os.WriteFile(a.Path, b, 0o644)
		}},
		{"no digest beside it", func() error { return os.Remove(a.Path + sealSuffix) }},
	} {
		t.Run(damage.name, func(t *testing.T) {
			if err := damage.do(); err != nil {
				t.Fatal(err)
			}
			_, logged := build(t)
			if !strings.Contains(logged, a.Path) || !strings.Contains(logged, "building it again") {
				t.Errorf("the log does not name the damaged archive:\n%s", logged)
			}
			if got, _ := os.ReadFile(a.Path); !bytes.Equal(got, whole) {
				t.Errorf("the archive was not built again whole")
			}
		})
	}
}
