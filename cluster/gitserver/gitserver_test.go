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

func TestTarFSKeepsTheExecutableBit(t *testing.T) {
	data, err := tarFS(fstest.MapFS{"run.sh": {Data: []byte("#!/bin/sh\n"), Mode: 0o755}, "README": {Data: []byte("x"), Mode: 0o600}})
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(bytes.NewReader(data))
	modes := map[string]int64{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		modes[h.Name] = h.Mode
	}
	if modes["run.sh"] != 0o755 || modes["README"] != 0o644 {
		t.Fatalf("modes %v, want run.sh 0755 and README 0644", modes)
	}
}

func TestURL(t *testing.T) {
	s := &Server{Host: "git.cachebench.svc.cluster.local"}
	if got := s.URL("small"); got != "git://git.cachebench.svc.cluster.local/small.git" {
		t.Fatal(got)
	}
}
