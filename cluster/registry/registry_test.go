package registry

import (
	"encoding/base64"
	"encoding/json"
	"testing"
)

func TestDockerConfigJSON(t *testing.T) {
	r := &Registry{Host: "registry.cachebench.svc.cluster.local:5000", User: "cachebench", Password: "s3cret"}
	raw, err := r.DockerConfigJSON()
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Auths map[string]struct{ Username, Password, Auth string } `json:"auths"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	a, ok := cfg.Auths[r.Host]
	if !ok {
		t.Fatalf("no entry for %s: %s", r.Host, raw)
	}
	dec, _ := base64.StdEncoding.DecodeString(a.Auth)
	if string(dec) != "cachebench:s3cret" || a.Username != "cachebench" {
		t.Fatalf("auth = %q", dec)
	}
	if r.Ref("base/debian:bookworm") != r.Host+"/base/debian:bookworm" {
		t.Fatal(r.Ref("base/debian:bookworm"))
	}
}
