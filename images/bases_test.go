package images

import (
	"strings"
	"testing"
)

func TestOfflineBase(t *testing.T) {
	tests := []struct {
		image, want string
	}{
		{"debian:bookworm", "debian"},
		{"debian:bookworm-slim", "debian"},
		{"docker.io/library/debian:12", "debian"},
		{"index.docker.io/library/debian:12-slim", "debian"},
		{"golang:1.26-bookworm", "golang"},
		{"golang:1.26.8-bookworm", "golang"},
		{"golang:1.25-bookworm", ""},
		{"debian", ""}, // latest moves on: not the release built here
		{"python:3.12-slim", ""},
		{"ghcr.io/acme/debian:bookworm", ""},
		{"not a reference", ""},
	}
	for _, tt := range tests {
		got, ok := OfflineBase(tt.image)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("OfflineBase(%q) = %q, %v; want %q", tt.image, got, ok, tt.want)
		}
	}
}

func TestRemoteBase(t *testing.T) {
	tests := []struct {
		image, logical, repo string
	}{
		{"debian:bookworm-slim", "index.docker.io/library/debian:bookworm-slim", "base/library/debian:bookworm-slim"},
		{"ghcr.io/acme/app/base:1.2", "ghcr.io/acme/app/base:1.2", "base/ghcr.io/acme/app/base:1.2"},
		{"quay.io/x/y", "quay.io/x/y:latest", "base/quay.io/x/y:latest"},
		{"alpine@sha256:" + strings.Repeat("a", 64), "index.docker.io/library/alpine@sha256:" + strings.Repeat("a", 64), "base/library/alpine@sha256:" + strings.Repeat("a", 64)},
	}
	for _, tt := range tests {
		logical, b, err := RemoteBase(tt.image)
		if err != nil {
			t.Fatalf("RemoteBase(%q): %v", tt.image, err)
		}
		if logical != tt.logical || b.Repo != tt.repo || b.Remote != tt.logical {
			t.Errorf("RemoteBase(%q) = %q, %+v; want %q, repo %q", tt.image, logical, b, tt.logical, tt.repo)
		}
	}
}

func TestAddBase(t *testing.T) {
	offline := &Set{Mode: Offline, Bases: map[string]Base{"debian": {Repo: "base/debian:bookworm", Archive: "/x.tar"}}}
	if logical, b, err := offline.AddBase("debian:12-slim"); err != nil || logical != "debian" || b.Repo != "base/debian:bookworm" {
		t.Errorf("offline debian:12-slim: %q %+v %v", logical, b, err)
	}
	_, _, err := offline.AddBase("python:3.12")
	if err == nil || !strings.Contains(err.Error(), "python:3.12 is not available offline") || !strings.Contains(err.Error(), "debian:bookworm-slim") || !strings.Contains(err.Error(), "--images online") {
		t.Errorf("offline python:3.12: err = %v", err)
	}
	online := &Set{Mode: Online, Bases: map[string]Base{}}
	logical, b, err := online.AddBase("python:3.12")
	if err != nil || online.Bases[logical] != b || b.Remote != "index.docker.io/library/python:3.12" {
		t.Errorf("online python:3.12: %q %+v %v; set %v", logical, b, err, online.Bases)
	}
}
