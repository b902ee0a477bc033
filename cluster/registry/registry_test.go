package registry

import (
	"encoding/base64"
	"encoding/json"
	"strings"
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

func TestConfigPerRole(t *testing.T) {
	for _, tt := range []struct {
		role      Role
		want, not []string
	}{
		{Upstream, []string{"accesslog:\n    disabled: false"}, []string{"auth:", "proxy:"}},
		{Cache, []string{"htpasswd:", "path: /auth/htpasswd"}, []string{"proxy:"}},
		{Mirror, []string{"proxy:\n  remoteurl: http://upstream.ns.svc.cluster.local:5000\n"}, []string{"auth:"}},
	} {
		c := config(tt.role, "http://upstream.ns.svc.cluster.local:5000")
		for _, w := range tt.want {
			if !strings.Contains(c, w) {
				t.Errorf("%s: config lacks %q:\n%s", tt.role, w, c)
			}
		}
		for _, n := range tt.not {
			if strings.Contains(c, n) {
				t.Errorf("%s: config has %q:\n%s", tt.role, n, c)
			}
		}
	}
	if Cache.Name() != "registry" || Upstream.Name() != "upstream" || Mirror.Name() != "mirror" {
		t.Error("role names are the Services pods reach the registries by")
	}
}
