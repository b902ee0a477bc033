package gitserver

import (
	"archive/tar"
	"bytes"
	"io"
	"testing"
	"testing/fstest"
)

func TestTarFSIsReproducible(t *testing.T) {
	fsys := fstest.MapFS{"Dockerfile": {Data: []byte("FROM x\n")}, "app/main.py": {Data: []byte("print(1)\n")}}
	a, err := tarFS(fsys)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := tarFS(fsys)
	if !bytes.Equal(a, b) {
		t.Fatal("packing twice gave different bytes: the repository's commit would change")
	}
	tr := tar.NewReader(bytes.NewReader(a))
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		names = append(names, h.Name)
	}
	if len(names) != 2 || names[0] != "Dockerfile" || names[1] != "app/main.py" {
		t.Fatalf("entries %v", names)
	}
}

func TestTarFSRefusesWhatAConfigMapCannotHold(t *testing.T) {
	if _, err := tarFS(fstest.MapFS{"big": {Data: make([]byte, 2<<20)}}); err == nil {
		t.Fatal("want an error for sources over the ConfigMap limit")
	}
}

func TestURL(t *testing.T) {
	s := &Server{Host: "git.cachebench.svc.cluster.local"}
	if got := s.URL("small"); got != "git://git.cachebench.svc.cluster.local/small.git" {
		t.Fatal(got)
	}
}
