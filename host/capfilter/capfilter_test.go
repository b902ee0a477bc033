package capfilter

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParseStatus(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		want    Set
		wantErr bool
	}{
		{"no sys_resource", "Name:\tx\nCapBnd:\t000001fffeffffff\n", 0x000001fffeffffff, false},
		{"full", "CapBnd:\t000001ffffffffff\n", 0x000001ffffffffff, false},
		{"missing", "Name:\tx\n", 0, true},
		{"garbage", "CapBnd:\tzz\n", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStatus(tt.status)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ParseStatus() = %x, %v; want %x, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestSetHas(t *testing.T) {
	s := Set(0x000001fffeffffff) // bit 24 (CAP_SYS_RESOURCE) clear
	if s.Has("CAP_SYS_RESOURCE") {
		t.Error("CAP_SYS_RESOURCE should be missing")
	}
	for _, c := range []string{"CAP_SYS_ADMIN", "cap_chown", "CAP_CHECKPOINT_RESTORE", "CAP_UNKNOWN_TO_US"} {
		if !s.Has(c) {
			t.Errorf("%s should be allowed", c)
		}
	}
}

func TestFilterProcess(t *testing.T) {
	proc := map[string]any{"capabilities": map[string]any{
		"bounding":  []any{"CAP_CHOWN", "CAP_SYS_RESOURCE", "CAP_SYS_ADMIN"},
		"effective": []any{"CAP_SYS_RESOURCE"},
		"ambient":   []any{},
	}}
	if !FilterProcess(proc, Set(0x000001fffeffffff)) {
		t.Fatal("FilterProcess reported no change")
	}
	caps := proc["capabilities"].(map[string]any)
	if got := caps["bounding"]; !reflect.DeepEqual(got, []any{"CAP_CHOWN", "CAP_SYS_ADMIN"}) {
		t.Errorf("bounding = %v", got)
	}
	if got := caps["effective"]; len(got.([]any)) != 0 {
		t.Errorf("effective = %v", got)
	}
	if FilterProcess(proc, Set(0x000001fffeffffff)) {
		t.Error("a second pass should change nothing")
	}
}

func TestFindTarget(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want Target
		ok   bool
	}{
		{"create with bundle", []string{"--root", "/r", "--log", "/l", "create", "--bundle", "/b", "id"}, Target{Path: "/b/config.json", Spec: true}, true},
		{"create with -b=", []string{"create", "-b=/b2", "id"}, Target{Path: "/b2/config.json", Spec: true}, true},
		{"run in cwd", []string{"run", "id"}, Target{Path: "/cwd/config.json", Spec: true}, true},
		{"exec process", []string{"--root", "/r", "exec", "--process", "/tmp/p.json", "--detach", "id"}, Target{Path: "/tmp/p.json"}, true},
		{"exec process=", []string{"exec", "--process=/tmp/q.json", "id"}, Target{Path: "/tmp/q.json"}, true},
		{"exec without process", []string{"exec", "id", "sh"}, Target{}, false},
		{"state", []string{"--root", "/r", "state", "id"}, Target{}, false},
		{"global value named create", []string{"--log", "create", "delete", "id"}, Target{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := FindTarget(tt.args, "/cwd")
			if ok != tt.ok || got != tt.want {
				t.Fatalf("FindTarget(%v) = %+v, %v; want %+v, %v", tt.args, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestFilterFileKeepsOtherFields(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	spec := `{"ociVersion":"1.0.2","process":{"args":["sh"],"capabilities":{"bounding":["CAP_SYS_RESOURCE","CAP_KILL"]}},"hostname":"h"}`
	if err := os.WriteFile(path, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := FilterFile(path, true, Set(0x000001fffeffffff)); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if got["hostname"] != "h" || got["ociVersion"] != "1.0.2" {
		t.Errorf("other fields lost: %s", raw)
	}
	caps := got["process"].(map[string]any)["capabilities"].(map[string]any)["bounding"]
	if !reflect.DeepEqual(caps, []any{"CAP_KILL"}) {
		t.Errorf("bounding = %v", caps)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Errorf("mode changed to %v", info.Mode())
	}
}
