package triggers

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cachebench/cachebench/cluster/kube"
)

// TestRenderFromModule renders the release from the module itself, which
// the module proxy serves: not in -short mode, which needs no network
// (the smoke renders and installs it too).
func TestRenderFromModule(t *testing.T) {
	if testing.Short() {
		t.Skip("downloads github.com/tektoncd/triggers from the module proxy")
	}
	images := map[string]string{}
	for _, c := range []string{"controller", "webhook", "eventlistenersink", "interceptors"} {
		images[c] = "cachebench.local/tekton-triggers/" + c + ":v0.37.0"
	}
	r, err := RenderFromModule(context.Background(), "v0.37.0", images)
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"controller": string(r.Controller), "interceptors": string(r.Interceptors)} {
		if strings.Contains(text, "ko://") {
			t.Errorf("%s: ko:// placeholders left", name)
		}
	}
	// The EventListener's image is an argument of the controller.
	for _, want := range []string{"cachebench.local/tekton-triggers/controller:v0.37.0", "-el-image", "cachebench.local/tekton-triggers/eventlistenersink:v0.37.0", "cachebench.local/tekton-triggers/webhook:v0.37.0"} {
		if !strings.Contains(string(r.Controller), want) {
			t.Errorf("controller release lacks %s", want)
		}
	}
	kinds := func(data []byte) map[string]int {
		objs, err := kube.Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		k := map[string]int{}
		for _, o := range objs {
			k[o.GetKind()]++
		}
		return k
	}
	if k := kinds(r.Controller); k["CustomResourceDefinition"] != 7 || k["Deployment"] != 2 || k["Namespace"] != 0 {
		t.Errorf("controller release: %v", k)
	}
	objs, err := kube.Decode(r.Interceptors)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, o := range objs {
		order = append(order, o.GetKind())
	}
	// The Secret before the Deployment (the interceptors give up without
	// it), the ClusterInterceptors before it too (it fills their CA bundle
	// at start).
	if got := strings.Join(order, ","); !strings.HasPrefix(got, "Secret,ClusterInterceptor") || !strings.Contains(got, "ClusterInterceptor,Deployment") {
		t.Errorf("interceptors in order %s", got)
	}
	if !strings.Contains(string(r.Interceptors), images["interceptors"]) {
		t.Error("the interceptors' image is not the one given")
	}
}

// TestRenderNamesMissingImages renders testdata/module, a release's
// layout with ko:// placeholders for each command.
func TestRenderNamesMissingImages(t *testing.T) {
	all := map[string]string{"controller": "c", "webhook": "w", "eventlistenersink": "e", "interceptors": "i"}
	r, err := renderFromDir("testdata/module", all)
	if err != nil {
		t.Fatalf("every image given: %v", err)
	}
	if text := string(r.Controller) + string(r.Interceptors); strings.Contains(text, "ko://") || !strings.Contains(text, `image: "i"`) || !strings.Contains(text, "-el-image") {
		t.Errorf("placeholders not resolved:\n%s", text)
	}
	_, err = renderFromDir("testdata/module", map[string]string{"controller": "x", "webhook": "y"})
	if err == nil || !strings.Contains(err.Error(), "eventlistenersink") || !strings.Contains(err.Error(), "interceptors") {
		t.Fatalf("want an error naming the commands without images, got %v", err)
	}
}

// TestSign checks the signature against HMAC-SHA256's published example.
func TestSign(t *testing.T) {
	got := Sign([]byte("key"), []byte("The quick brown fox jumps over the lazy dog"))
	if want := "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"; got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

func TestPayload(t *testing.T) {
	p := Push{Repository: "small", CloneURL: "git://git.cachebench.svc.cluster.local/small.git", Branch: "rounds/x-r1", Before: "a1", After: "b2"}
	data, err := p.Payload()
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Ref        string `json:"ref"`
		After      string `json:"after"`
		Repository struct {
			Name     string `json:"name"`
			CloneURL string `json:"clone_url"`
		} `json:"repository"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	// What the binding ($(body.repository.clone_url), $(body.after)) and
	// the filter read.
	if v.Ref != "refs/heads/rounds/x-r1" || v.After != "b2" || v.Repository.Name != "small" || v.Repository.CloneURL != p.CloneURL {
		t.Errorf("payload %s", data)
	}
}

func TestFilter(t *testing.T) {
	for _, tc := range []struct{ repo, branch, want string }{
		{"small", "rounds/r1", `body.repository.name == "small" && body.ref == "refs/heads/rounds/r1"`},
		{`we"ird`, "b", `body.repository.name == "we\"ird" && body.ref == "refs/heads/b"`},
	} {
		if got := Filter(tc.repo, tc.branch); got != tc.want {
			t.Errorf("Filter(%q, %q) = %s, want %s", tc.repo, tc.branch, got, tc.want)
		}
	}
}

func TestEventID(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		want    string
		wantErr string
	}{
		{"accepted", 202, `{"eventListener":"cachebench","namespace":"cachebench","eventListenerUID":"u","eventID":"e-1"}`, "e-1", ""},
		{"bad body", 400, `{"eventListener":"cachebench","errorMessage":"Invalid event body format"}`, "", "Invalid event body format"},
		{"no id", 202, `{}`, "", "without an event id"},
		{"not json", 503, `upstream connect error`, "", "upstream connect error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tc.status, Status: http.StatusText(tc.status), Body: io.NopCloser(strings.NewReader(tc.body))}
			got, err := eventID(resp)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestTriggerFiltersFirst: every event goes through every Trigger's
// interceptors, so a Trigger must drop a push for another branch before
// its GitHub interceptor reads the webhook secret (see triggerObjects).
func TestTriggerFiltersFirst(t *testing.T) {
	l := &Listener{Namespace: "cachebench"}
	pr := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "tekton.dev/v1", "kind": "PipelineRun", "metadata": map[string]any{"generateName": "run-"}}}
	objs, err := l.triggerObjects(Trigger{Name: "round-1", Repository: "smoke", Branch: "rounds/r1", PipelineRun: pr})
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 || objs[0].GetKind() != "TriggerTemplate" || objs[1].GetKind() != "Trigger" {
		t.Fatalf("objects %v, want a TriggerTemplate and a Trigger", objs)
	}
	interceptors, _, err := unstructured.NestedSlice(objs[1].Object, "spec", "interceptors")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, i := range interceptors {
		name, _, _ := unstructured.NestedString(i.(map[string]any), "ref", "name")
		names = append(names, name)
	}
	if want := []string{"cel", "github"}; !slices.Equal(names, want) {
		t.Fatalf("interceptors %v, want %v: the filter before the signature check, which reads the secret", names, want)
	}
	params, _, _ := unstructured.NestedSlice(interceptors[0].(map[string]any), "params")
	if len(params) != 1 || params[0].(map[string]any)["value"] != Filter("smoke", "rounds/r1") {
		t.Errorf("the CEL interceptor's params %v, want the filter of smoke's rounds/r1", params)
	}
	// A Trigger that requires headers keeps only pushes that carry them.
	objs, err = l.triggerObjects(Trigger{Name: "round-1-d2", Repository: "smoke", Branch: "rounds/r1", Header: map[string]string{"X-Cachebench-Daemon": "2"}, PipelineRun: pr})
	if err != nil {
		t.Fatal(err)
	}
	interceptors, _, _ = unstructured.NestedSlice(objs[1].Object, "spec", "interceptors")
	params, _, _ = unstructured.NestedSlice(interceptors[0].(map[string]any), "params")
	if want := Filter("smoke", "rounds/r1") + ` && header.match("X-Cachebench-Daemon", "2")`; len(params) != 1 || params[0].(map[string]any)["value"] != want {
		t.Errorf("the CEL interceptor's params %v, want the filter %s", params, want)
	}
	if labels := objs[1].GetLabels(); labels[TriggerLabel] != ListenerName {
		t.Errorf("the Trigger's labels %v lack %s=%s", labels, TriggerLabel, ListenerName)
	}
}

func TestAnswersAdd(t *testing.T) {
	// Lines as the core interceptors of v0.37.0 log them: the first four from
	// a smoke's cluster, the signature's refusal with go-github's message.
	log := `{"level":"info","ts":1796619012.6576393,"caller":"server/server.go:157","msg":"Interceptor response is: &{Extensions:map[] Continue:false Status:{Code:FailedPrecondition Message:error getting secret: client rate limiter Wait returned an error: rate: Wait(n=1) would exceed context deadline}}"}
{"level":"info","ts":1796619012.6821375,"caller":"server/server.go:157","msg":"Interceptor response is: &{Extensions:map[] Continue:true Status:{Code:OK Message:}}"}
{"level":"info","ts":1796619012.753263,"caller":"server/server.go:157","msg":"Interceptor response is: &{Extensions:map[] Continue:false Status:{Code:FailedPrecondition Message:expression body.repository.name == \"smoke\" && body.ref == \"refs/heads/rounds/r1\" did not return true}}"}
{"level":"info","ts":1796619012.6589625,"caller":"server/server.go:157","msg":"Interceptor response is: &{Extensions:map[] Continue:false Status:{Code:FailedPrecondition Message:error getting secret: client rate limiter Wait returned an error: rate: Wait(n=1) would exceed context deadline}}"}
{"level":"info","ts":1796619012.1,"caller":"server/server.go:157","msg":"Interceptor response is: &{Extensions:map[] Continue:false Status:{Code:FailedPrecondition Message:payload signature check failed}}"}
{"level":"info","ts":1796619012.2,"caller":"main.go:99","msg":"serving"}
`
	a := Answers{Refused: map[string]int{}}
	a.add(log)
	want := map[string]int{
		"error getting secret: client rate limiter Wait returned an error: rate: Wait(n=1) would exceed context deadline": 2,
		"payload signature check failed": 1,
	}
	if a.Passed != 1 || a.Unmatched != 1 || !maps.Equal(a.Refused, want) {
		t.Fatalf("answers %+v, want 1 passed, 1 unmatched, refused %v", a, want)
	}
	if s := a.String(); !strings.HasPrefix(s, `1 let through, 1 filters not matched; refused: 2× "error getting secret`) {
		t.Errorf("String() = %s", s)
	}
	tie := Answers{Refused: map[string]int{"b": 1, "a": 1, "c": 2}}
	for range 5 { // a map's order varies; the text must not
		if s := tie.String(); s != `0 let through, 0 filters not matched; refused: 2× "c", 1× "a", 1× "b"` {
			t.Fatalf("String() = %s", s)
		}
	}
}
