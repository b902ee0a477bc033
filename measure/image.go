package measure

import (
	"archive/tar"
	"fmt"
	"io"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ImageEntry is what an image's file system holds at a path.
type ImageEntry struct {
	// Found is false when no layer has the path, or the topmost layer that
	// has it deletes it.
	Found bool
	Dir   bool
	// Data is a regular file's content; Symlink a symbolic link's target;
	// Hardlink the path a hard link shares its content with.
	Data     []byte
	Symlink  string
	Hardlink string
}

const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
)

// ReadImageFiles reads the entries at paths (absolute) of the file system
// img's layers stack up, as a container runtime would see it: each path
// from the topmost layer that has it or deletes it (a whiteout, or an
// opaque directory above it). Layers are read from the top down, and none
// below the last one a path needs: a build's own files are in its top
// layers, so the base image is rarely read.
func ReadImageFiles(img v1.Image, paths []string) (map[string]ImageEntry, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("read the image's layers: %w", err)
	}
	out := map[string]ImageEntry{}
	open := map[string]bool{}
	for _, p := range paths {
		open[path.Clean(p)] = true
	}
	for i := len(layers) - 1; i >= 0 && len(open) > 0; i-- {
		if err := readLayer(layers[i], open, out); err != nil {
			return nil, fmt.Errorf("layer %d of %d: %w", i+1, len(layers), err)
		}
	}
	for p := range open {
		out[p] = ImageEntry{}
	}
	return out, nil
}

// readLayer settles the open paths the layer has, deletes or shadows.
func readLayer(l v1.Layer, open map[string]bool, out map[string]ImageEntry) error {
	rc, err := l.Uncompressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	settled := map[string]ImageEntry{}
	var opaque []string
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		name := path.Clean("/" + h.Name)
		dir, base := path.Split(name)
		dir = path.Clean(dir)
		if base == opaqueMarker {
			opaque = append(opaque, dir)
			continue
		}
		if deleted, ok := strings.CutPrefix(base, whiteoutPrefix); ok {
			deleted = path.Join(dir, deleted)
			for p := range open {
				if p == deleted || strings.HasPrefix(p, deleted+"/") {
					settled[p] = ImageEntry{}
				}
			}
			continue
		}
		// A path below this entry makes the open path above it a directory.
		for p := dir; p != "/"; p = path.Dir(p) {
			if open[p] {
				settled[p] = ImageEntry{Found: true, Dir: true}
			}
		}
		if !open[name] {
			continue
		}
		e := ImageEntry{Found: true}
		switch h.Typeflag {
		case tar.TypeDir:
			e.Dir = true
		case tar.TypeSymlink:
			e.Symlink = h.Linkname
		case tar.TypeLink:
			e.Hardlink = path.Clean("/" + h.Linkname)
		case tar.TypeReg:
			if e.Data, err = io.ReadAll(tr); err != nil {
				return err
			}
		}
		settled[name] = e
	}
	// An opaque directory hides what lower layers hold below it.
	for _, d := range opaque {
		for p := range open {
			if _, ok := settled[p]; !ok && strings.HasPrefix(p, d+"/") {
				settled[p] = ImageEntry{}
			}
		}
	}
	for p, e := range settled {
		out[p] = e
		delete(open, p)
	}
	return nil
}
