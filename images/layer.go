package images

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// File is one entry of a layer built by cachebench.
type File struct {
	Path string      // absolute path in the image
	Mode os.FileMode // permission bits; 0 means 0644 for files, 0755 for dirs
	Data []byte      // content, when Src is empty
	Src  string      // a file or a folder on the host to copy (a folder is copied whole)
	Link string      // symlink target, when set
	Dir  bool        // an empty directory
	// Exec lists path.Match patterns, relative to a copied folder, of files
	// made executable. (The module cache keeps no permission bits: the go
	// command itself marks a downloaded toolchain's bin/* and pkg/tool/*/*.)
	Exec []string
}

// epoch is the modification time of every entry: layers are reproducible, so
// identical inputs give identical digests.
var epoch = time.Unix(0, 0).UTC()

// writeLayer writes files as a gzip-compressed tar (with their parent
// directories) and returns it as a layer.
func (f *Factory) writeLayer(dst string, files []File) (v1.Layer, error) {
	out, err := os.Create(dst)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	gz, _ := gzip.NewWriterLevel(out, gzip.BestSpeed)
	tw := tar.NewWriter(gz)
	dirs := map[string]bool{}
	var mkParents func(p string) error
	mkParents = func(p string) error {
		d := path.Dir(p)
		if d == "/" || d == "." || dirs[d] {
			return nil
		}
		if err := mkParents(d); err != nil {
			return err
		}
		dirs[d] = true
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(d, "/") + "/", Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX})
	}
	sorted := append([]File(nil), files...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	for _, fl := range sorted {
		if !path.IsAbs(fl.Path) {
			return nil, fmt.Errorf("layer entry %q: path must be absolute", fl.Path)
		}
		if err := mkParents(fl.Path); err != nil {
			return nil, err
		}
		if err := writeEntry(tw, fl, dirs); err != nil {
			return nil, fmt.Errorf("layer entry %s: %w", fl.Path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	if err := out.Close(); err != nil {
		return nil, err
	}
	return tarball.LayerFromFile(dst)
}

func writeEntry(tw *tar.Writer, fl File, dirs map[string]bool) error {
	name := strings.TrimPrefix(fl.Path, "/")
	hdr := &tar.Header{Name: name, ModTime: epoch, Format: tar.FormatPAX}
	switch {
	case fl.Link != "":
		hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, fl.Link, 0o777
		return tw.WriteHeader(hdr)
	case fl.Dir:
		if dirs[fl.Path] {
			return nil
		}
		dirs[fl.Path] = true
		hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, name+"/", int64(orDefault(fl.Mode, 0o755))
		return tw.WriteHeader(hdr)
	case fl.Src != "":
		info, err := os.Stat(fl.Src)
		if err != nil {
			return err
		}
		if info.IsDir() {
			return copyTree(tw, fl.Src, fl.Path, fl.Exec, dirs)
		}
		return copyFile(tw, fl.Src, name, orDefault(fl.Mode, info.Mode().Perm()))
	default:
		hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, int64(orDefault(fl.Mode, 0o644)), int64(len(fl.Data))
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := tw.Write(fl.Data)
		return err
	}
}

func orDefault(m, def os.FileMode) os.FileMode {
	if m == 0 {
		return def
	}
	return m
}

func copyFile(tw *tar.Writer, src, name string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: int64(mode), Size: info.Size(), ModTime: epoch, Format: tar.FormatPAX}); err != nil {
		return err
	}
	_, err = io.Copy(tw, in)
	return err
}

// copyTree copies a host folder to dst in the layer, keeping symlinks.
// Permissions are normalised (the module cache makes everything read-only).
func copyTree(tw *tar.Writer, src, dst string, exec []string, dirs map[string]bool) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := path.Join(dst, filepath.ToSlash(rel))
		name := strings.TrimPrefix(target, "/")
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if dirs[target] {
				return nil
			}
			dirs[target] = true
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX})
		case info.Mode()&os.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: link, Mode: 0o777, ModTime: epoch, Format: tar.FormatPAX})
		case info.Mode().IsRegular():
			mode := os.FileMode(0o644)
			if info.Mode()&0o111 != 0 || matchAny(exec, filepath.ToSlash(rel)) {
				mode = 0o755
			}
			return copyFile(tw, p, name, mode)
		}
		return nil // sockets, devices: nothing an image needs
	})
}

func matchAny(patterns []string, rel string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, rel); ok {
			return true
		}
	}
	return false
}
