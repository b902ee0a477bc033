package measure

import (
	"strings"
	"testing"
	"time"
)

// A registry's log as the kubelet returns it with timestamps: access log
// lines among distribution's own.
const registryLog = `2026-11-28T00:23:20.100000000Z time="2026-11-28T00:23:20Z" level=info msg="response completed" go.version=go1.24
2026-11-28T00:23:20.200000000Z 10.244.0.9 - - [28/Nov/2026:00:23:20 +0000] "GET /v2/ HTTP/1.1" 200 2 "" "go-containerregistry/v0.20.6"
2026-11-28T00:23:20.300000000Z 10.244.0.9 - - [28/Nov/2026:00:23:20 +0000] "HEAD /v2/base/debian/manifests/bookworm HTTP/1.1" 200 1083 "" "buildkit/v0.34"
2026-11-28T00:23:20.400000000Z 10.244.0.9 - - [28/Nov/2026:00:23:20 +0000] "GET /v2/base/debian/manifests/sha256:1111 HTTP/1.1" 200 1083 "" "buildkit/v0.34"
2026-11-28T00:23:21.500000000Z 10.244.0.9 - - [28/Nov/2026:00:23:20 +0000] "GET /v2/base/debian/blobs/sha256:2222 HTTP/1.1" 200 29127348 "" "buildkit/v0.34 \"quoted\""
2026-11-28T00:23:21.600000000Z 10.244.0.9 - - [28/Nov/2026:00:23:21 +0000] "GET /v2/base/debian/blobs/sha256:3333 HTTP/1.1" 404 157 "" "buildkit/v0.34"
2026-11-28T00:23:30.000000000Z 10.244.0.9 - cachebench [28/Nov/2026:00:23:29 +0000] "POST /v2/bench/small/blobs/uploads/ HTTP/1.1" 202 0 "" "buildkit/v0.34"
2026-11-28T00:23:30.100000000Z 10.244.0.9 - cachebench [28/Nov/2026:00:23:30 +0000] "PATCH /v2/bench/small/blobs/uploads/0b1c HTTP/1.1" 202 0 "" "buildkit/v0.34"
2026-11-28T00:23:30.200000000Z 10.244.0.9 - cachebench [28/Nov/2026:00:23:30 +0000] "PUT /v2/bench/small/blobs/uploads/0b1c?_state=x&digest=sha256%3A4444 HTTP/1.1" 201 0 "" "buildkit/v0.34"
2026-11-28T00:23:30.300000000Z 10.244.0.9 - cachebench [28/Nov/2026:00:23:30 +0000] "PUT /v2/bench/small/manifests/run-1 HTTP/1.1" 201 0 "" "buildkit/v0.34"
2026-11-28T00:24:00.000000000Z 10.244.0.9 - - [28/Nov/2026:00:24:00 +0000] "GET /v2/base/debian/manifests/bookworm HTTP/1.1" 200 1083 "" "next run"
`

func TestAccessLog(t *testing.T) {
	reqs := AccessLog(ParseTimestamped(registryLog))
	if len(reqs) != 10 {
		t.Fatalf("%d requests, want 10: %+v", len(reqs), reqs)
	}
	blob := reqs[3]
	if blob.Method != "GET" || blob.Path != "/v2/base/debian/blobs/sha256:2222" || blob.Status != 200 || blob.Bytes != 29127348 ||
		blob.Kind() != KindBlob || blob.Repository() != "base/debian" || !strings.Contains(blob.Agent, `\"quoted\"`) {
		t.Errorf("blob request %+v", blob)
	}
	if !blob.Time.Equal(time.Date(2026, 11, 28, 0, 23, 21, 5e8, time.UTC)) {
		t.Errorf("the kubelet's timestamp is the request's end: %v", blob.Time)
	}
	if d := reqs[7].UploadedDigest(); d != "sha256:4444" {
		t.Errorf("uploaded digest %q", d)
	}
	for i, want := range []Kind{KindOther, KindManifest, KindManifest, KindBlob, KindBlob, KindUpload, KindUpload, KindUpload, KindManifest, KindManifest} {
		if reqs[i].Kind() != want {
			t.Errorf("request %d %s: kind %s, want %s", i, reqs[i].Path, reqs[i].Kind(), want)
		}
	}

	// The run ended before the last request: that one is the next run's.
	from := time.Date(2026, 11, 28, 0, 23, 20, 0, time.UTC)
	tr := Tally(reqs, from, from.Add(15*time.Second))
	if tr.Requests != 9 || tr.Pulls != 1 || tr.BlobGets != 1 || tr.ManifestPuts != 1 ||
		tr.PulledBytes != 2+1083+29127348 || len(tr.Pushed) != 1 || tr.Pushed[0] != (Blob{"bench/small", "sha256:4444"}) {
		t.Errorf("tally %+v", tr)
	}
}
