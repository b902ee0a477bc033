package images

import (
	"strings"
	"testing"
)

// TestOnlineNodeImage: online, the node is a kindest/node image kind
// v0.33.0 published, by digest, chosen by the host's cgroup version.
func TestOnlineNodeImage(t *testing.T) {
	for _, tt := range []struct {
		k8s     string
		v2      bool
		want    string
		wantErr string
	}{
		{v2: true, want: "docker.io/kindest/node:v1.37.0@sha256:a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5"},
		{v2: false, want: "docker.io/kindest/node:v1.34.11@sha256:44e222ee2132dab25ff87301682f89eb82c7880ea3a1bf543bfe9708fd08d67d"},
		{k8s: "v1.35.8", want: "docker.io/kindest/node:v1.35.8@sha256:07b2536e30b803ed61d1677a79df6115f798ce64c80f9e22f6ed45afd09323c0"},
		{k8s: "v1.34.1", wantErr: "v1.37.0, v1.36.4, v1.35.8, v1.34.11"},
	} {
		got, err := OnlineNodeImage(tt.k8s, tt.v2)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "--node-image") {
				t.Errorf("OnlineNodeImage(%q) = %q, %v; want an error listing %s and naming --node-image", tt.k8s, got, err, tt.wantErr)
			}
		case err != nil || got != tt.want:
			t.Errorf("OnlineNodeImage(%q, v2=%v) = %q, %v; want %s", tt.k8s, tt.v2, got, err, tt.want)
		}
	}
}
