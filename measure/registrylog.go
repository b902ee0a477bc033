package measure

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Request is one line of a registry's access log (distribution writes one
// per request, in the Apache combined format).
type Request struct {
	// Time is the kubelet's timestamp of the line: when the request ended.
	Time   time.Time
	Method string
	// Path is the request's path, Query its query.
	Path, Query string
	Status      int
	// Bytes is the size of the response body.
	Bytes int64
	Agent string
}

// combined matches the Apache combined log format as gorilla/handlers
// writes it: host - user [time] "METHOD URI PROTO" status size "referer" "agent".
var combined = regexp.MustCompile(`^\S+ \S+ \S+ \[[^\]]+\] "(\S+) (\S+) [^"]*" (\d{3}) (\d+|-) "(?:[^"\\]|\\.)*" "((?:[^"\\]|\\.)*)"`)

// AccessLog reads the access log lines among a registry's log lines (its
// other lines, JSON or text, are skipped).
func AccessLog(lines []LogLine) []Request {
	var out []Request
	for _, l := range lines {
		m := combined.FindStringSubmatch(l.Text)
		if m == nil {
			continue
		}
		u, err := url.ParseRequestURI(m[2])
		if err != nil {
			continue
		}
		status, _ := strconv.Atoi(m[3])
		size, _ := strconv.ParseInt(m[4], 10, 64) // "-": none
		out = append(out, Request{Time: l.Time, Method: m[1], Path: u.Path, Query: u.RawQuery, Status: status, Bytes: size, Agent: m[5]})
	}
	return out
}

// Kind is what a registry request does, as far as traffic goes.
type Kind string

const (
	KindManifest Kind = "manifest" // /v2/<name>/manifests/<reference>
	KindBlob     Kind = "blob"     // /v2/<name>/blobs/<digest>
	KindUpload   Kind = "upload"   // /v2/<name>/blobs/uploads/...
	KindOther    Kind = "other"    // /v2/, tags, catalog
)

// Kind classifies the request by its path.
func (r Request) Kind() Kind {
	p := strings.TrimPrefix(r.Path, "/v2/")
	switch {
	case p == r.Path:
		return KindOther
	case strings.Contains(p, "/blobs/uploads"):
		return KindUpload
	case strings.Contains(p, "/manifests/"):
		return KindManifest
	case strings.Contains(p, "/blobs/"):
		return KindBlob
	}
	return KindOther
}

// Repository is the repository a /v2/ request names ("" for others).
func (r Request) Repository() string {
	p := strings.TrimPrefix(r.Path, "/v2/")
	for _, sep := range []string{"/blobs/", "/manifests/", "/tags/"} {
		if i := strings.Index(p, sep); i > 0 {
			return p[:i]
		}
	}
	return ""
}

// UploadedDigest is the digest a finished blob upload names (PUT
// .../blobs/uploads/<id>?digest=<digest>), "" for any other request. The
// repository is the request's Repository.
func (r Request) UploadedDigest() string {
	if r.Kind() != KindUpload || r.Method != "PUT" || r.Status/100 != 2 {
		return ""
	}
	q, err := url.ParseQuery(r.Query)
	if err != nil {
		return ""
	}
	return q.Get("digest")
}

// Traffic sums what a run asked of one registry.
type Traffic struct {
	Requests int
	// Pulls are successful manifest GETs: what Docker Hub counts against
	// its pull rate limit (HEAD requests are not counted there).
	Pulls int
	// BlobGets are successful blob downloads; PulledBytes is every
	// response body's size, blobs and manifests.
	BlobGets    int
	PulledBytes int64
	// Pushed are the blobs uploaded, and ManifestPuts the manifests
	// written: the bytes pushed are the blobs' sizes, which the access log
	// does not hold (it logs response sizes only).
	Pushed       []Blob
	ManifestPuts int
}

// Blob is a blob of a repository.
type Blob struct{ Repository, Digest string }

// Tally sums the requests that ended in [from, to].
func Tally(reqs []Request, from, to time.Time) Traffic {
	var t Traffic
	for _, r := range reqs {
		if r.Time.Before(from) || r.Time.After(to) {
			continue
		}
		t.Requests++
		ok := r.Status/100 == 2
		if r.Method == "GET" && ok {
			t.PulledBytes += r.Bytes
		}
		switch r.Kind() {
		case KindManifest:
			if r.Method == "GET" && ok {
				t.Pulls++
			}
			if r.Method == "PUT" && ok {
				t.ManifestPuts++
			}
		case KindBlob:
			if r.Method == "GET" && ok {
				t.BlobGets++
			}
		case KindUpload:
			if d := r.UploadedDigest(); d != "" {
				t.Pushed = append(t.Pushed, Blob{Repository: r.Repository(), Digest: d})
			}
		}
	}
	return t
}
