package measure

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

// The logs below follow what each builder prints (see the format notes in
// builderror.go); hosts, digests and times are made up.

// An apt failure inside kaniko: apt's own "Err:" and "E:" lines come first,
// then kaniko's exit message, which names the failed step.
const kanikoJSONRunFailed = `{"level":"info","msg":"Retrieving image manifest registry.cachebench.svc.cluster.local:5000/base/debian:bookworm","time":"2026-11-26T13:29:30Z"}
{"level":"info","msg":"RUN apt-get update \u0026\u0026 apt-get install -y nosuchpkg","time":"2026-11-26T13:29:31Z"}
{"level":"info","msg":"Cmd: /bin/sh","time":"2026-11-26T13:29:31Z"}
Get:1 http://deb.debian.org/debian bookworm InRelease [151 kB]
Err:2 http://deb.debian.org/debian bookworm-updates InRelease
  Temporary failure resolving 'deb.debian.org'
Reading package lists...
E: Unable to locate package nosuchpkg
error building image: error building stage: failed to execute command: waiting for process to exit: exit status 100`

// The base image's registry does not resolve.
const kanikoJSONNoHost = `{"level":"info","msg":"Resolved base name registry.cachebench.svc.cluster.local:5000/base/golang:1.26.8-bookworm to build","time":"2026-11-26T13:29:30Z"}
{"level":"info","msg":"Retrieving image manifest registry.cachebench.svc.cluster.local:5000/base/golang:1.26.8-bookworm","time":"2026-11-26T13:29:30Z"}
{"level":"info","msg":"Unpacking rootfs as cmd RUN go mod download requires it.","time":"2026-11-26T13:29:31Z"}
error building image: error building stage: failed to get filesystem from image: Get "http://registry.cachebench.svc.cluster.local:5000/v2/": dial tcp: lookup registry.cachebench.svc.cluster.local on 10.96.0.10:53: no such host`

// The image built but the push was refused.
const kanikoJSONPushRefused = `{"level":"info","msg":"Taking snapshot of full filesystem...","time":"2026-11-26T13:30:16Z"}
{"level":"info","msg":"Pushing image to registry.cachebench.svc.cluster.local:5000/bench/gobuild:run-7","time":"2026-11-26T13:30:20Z"}
error pushing image: failed to push to destination registry.cachebench.svc.cluster.local:5000/bench/gobuild:run-7: Patch "http://registry.cachebench.svc.cluster.local:5000/v2/bench/gobuild/blobs/uploads/3b1f9c": dial tcp 10.96.0.5:5000: connect: connection refused`

// A JSON error entry: the msg is decoded (escaped quotes) and the logrus
// error field appended; the fatal entry that ends the process wins over it.
const kanikoJSONEntries = `{"level":"info","msg":"Retrieving image manifest base/debian:bookworm","time":"2026-11-26T13:29:30Z"}
{"error":"dial tcp 10.96.0.5:5000: connect: connection refused","level":"error","msg":"Error while retrieving image from cache","time":"2026-11-26T13:29:31Z"}
{"level":"fatal","msg":"error building image: GET \"http://registry.cachebench.svc.cluster.local:5000/v2/\": unexpected status code 503","time":"2026-11-26T13:29:32Z"}`

// --log-format=text: logrus's key=value lines.
const kanikoText = `time="2026-11-26T13:29:30Z" level=info msg="Retrieving image manifest base/debian:bookworm"
time="2026-11-26T13:29:31Z" level=error msg="Error while retrieving image from cache: \"base/debian\": connection refused"
time="2026-11-26T13:29:31Z" level=info msg="Unpacking rootfs as cmd RUN make requires it."`

// The default colour format, with logrus's padding after the message.
const kanikoColour = "\x1b[36mINFO\x1b[0m[0000] Retrieving image manifest base/debian:bookworm \n" +
	"\x1b[31mERRO\x1b[0m[0001] Error while retrieving image from cache: connection refused    \n" +
	"\x1b[36mINFO\x1b[0m[0001] Unpacking rootfs as cmd RUN make requires it. "

// buildctl build --progress=plain: the RUN output is prefixed "#<n> <secs>",
// the failed vertex says "#6 ERROR:", and buildctl exits with "error: ...".
const buildkitPlain = `#5 [2/3] RUN apt-get update && apt-get install -y nosuchpkg
#5 0.412 Get:1 http://deb.debian.org/debian bookworm InRelease [151 kB]
#5 2.871 Err:2 http://deb.debian.org/debian bookworm-updates InRelease
#5 3.120 E: Unable to locate package nosuchpkg
#5 ERROR: process "/bin/sh -c apt-get update && apt-get install -y nosuchpkg" did not complete successfully: exit code: 100
------
 > [2/3] RUN apt-get update && apt-get install -y nosuchpkg:
3.120 E: Unable to locate package nosuchpkg
------
Dockerfile:2
--------------------
   1 |     FROM debian:bookworm
   2 | >>> RUN apt-get update && apt-get install -y nosuchpkg
--------------------
error: failed to solve: process "/bin/sh -c apt-get update && apt-get install -y nosuchpkg" did not complete successfully: exit code: 100`

// Buildah: an error from containers/storage, then the exit message.
const buildahRunFailed = `STEP 1/3: FROM debian:bookworm
STEP 2/3: RUN apt-get install -y nosuchpkg
E: Unable to locate package nosuchpkg
time="2026-11-26T13:29:40Z" level=error msg="Unmounting /var/lib/containers/storage/overlay/5c2e/merged: invalid argument"
Error: building at STEP "RUN apt-get install -y nosuchpkg": while running runtime: exit status 100`

// A successful kaniko run whose RUN output mentions errors.
const kanikoNoError = `{"level":"info","msg":"RUN go test ./...","time":"2026-11-26T13:29:31Z"}
ok  	example.com/app/errors	0.012s
Err:2 http://deb.debian.org/debian bookworm-updates InRelease
{"level":"info","msg":"Pushed registry.cachebench.svc.cluster.local:5000/bench/gobuild@sha256:1f2e","time":"2026-11-26T13:30:27Z"}`

// stampLines prefixes every line with a kubelet timestamp, as a log fetched with
// timestamps has; BuildError must give the same answer either way.
func stampLines(log string) string {
	lines := strings.Split(log, "\n")
	for i, l := range lines {
		lines[i] = fmt.Sprintf("2026-11-26T13:29:%02d.319696969Z %s", i%60, l)
	}
	return strings.Join(lines, "\n")
}

func TestBuildError(t *testing.T) {
	for _, tc := range []struct {
		name, log, msg string
		line           int
		ok             bool
	}{
		{"kaniko apt failure", kanikoJSONRunFailed,
			"error building image: error building stage: failed to execute command: waiting for process to exit: exit status 100", 8, true},
		{"kaniko registry unresolvable", kanikoJSONNoHost,
			`error building image: error building stage: failed to get filesystem from image: Get "http://registry.cachebench.svc.cluster.local:5000/v2/": dial tcp: lookup registry.cachebench.svc.cluster.local on 10.96.0.10:53: no such host`, 3, true},
		{"kaniko push refused", kanikoJSONPushRefused,
			`error pushing image: failed to push to destination registry.cachebench.svc.cluster.local:5000/bench/gobuild:run-7: Patch "http://registry.cachebench.svc.cluster.local:5000/v2/bench/gobuild/blobs/uploads/3b1f9c": dial tcp 10.96.0.5:5000: connect: connection refused`, 2, true},
		{"kaniko json fatal over error", kanikoJSONEntries,
			`error building image: GET "http://registry.cachebench.svc.cluster.local:5000/v2/": unexpected status code 503`, 2, true},
		{"kaniko json error field", strings.Join(strings.Split(kanikoJSONEntries, "\n")[:2], "\n"),
			"Error while retrieving image from cache: dial tcp 10.96.0.5:5000: connect: connection refused", 1, true},
		{"kaniko text", kanikoText,
			`Error while retrieving image from cache: "base/debian": connection refused`, 1, true},
		{"kaniko colour", kanikoColour,
			"Error while retrieving image from cache: connection refused", 1, true},
		{"kaniko cobra exit", kanikoColour + "\nError: error building image: parsing dockerfile: unknown instruction: RUNN",
			"error building image: parsing dockerfile: unknown instruction: RUNN", 3, true},
		{"buildkit final error", buildkitPlain,
			`failed to solve: process "/bin/sh -c apt-get update && apt-get install -y nosuchpkg" did not complete successfully: exit code: 100`, 14, true},
		{"buildkit vertex error when the final line is missing", strings.Join(strings.Split(buildkitPlain, "\n")[:6], "\n"),
			`process "/bin/sh -c apt-get update && apt-get install -y nosuchpkg" did not complete successfully: exit code: 100`, 4, true},
		{"buildah", buildahRunFailed,
			`building at STEP "RUN apt-get install -y nosuchpkg": while running runtime: exit status 100`, 4, true},
		{"buildah storage error", strings.Join(strings.Split(buildahRunFailed, "\n")[:4], "\n"),
			"Unmounting /var/lib/containers/storage/overlay/5c2e/merged: invalid argument", 3, true},
		{"clean-up error after the exit message", buildahRunFailed + "\n" + `time="2026-11-26T13:29:41Z" level=error msg="failed to shut down storage: layer in use"`,
			`building at STEP "RUN apt-get install -y nosuchpkg": while running runtime: exit status 100`, 4, true},
		{"old buildah", "STEP 2: RUN make\nmake: *** [all] Error 2\nerror building at STEP \"RUN make\": error while running runtime: exit status 2",
			`error building at STEP "RUN make": error while running runtime: exit status 2`, 2, true},
		{"no error", kanikoNoError, "", 0, false},
		{"empty", "", "", 0, false},
	} {
		for _, v := range []struct{ name, log string }{{"plain", tc.log}, {"timestamped", stampLines(tc.log)}} {
			t.Run(tc.name+"/"+v.name, func(t *testing.T) {
				msg, line, ok := BuildError(v.log)
				if msg != tc.msg || line != tc.line || ok != tc.ok {
					t.Errorf("BuildError = %q, %d, %v\nwant %q, %d, %v", msg, line, ok, tc.msg, tc.line, tc.ok)
				}
			})
		}
	}
}

// A successful warm run recorded from a real cluster holds no error line.
func TestBuildErrorRecordedSuccess(t *testing.T) {
	raw, err := os.ReadFile("../builders/testdata/kaniko-gobuild-registry-warm.log")
	if err != nil {
		t.Fatal(err)
	}
	if msg, line, ok := BuildError(string(raw)); ok {
		t.Errorf("BuildError = %q at line %d, want none", msg, line)
	}
}

// Wrapped error chains get long; the reason stays within 300 characters,
// keeps what failed (the start) and the root cause (the end), and is not cut
// inside a multi-byte character.
func TestBuildErrorTruncates(t *testing.T) {
	long := "error building image: " + strings.Repeat("ünreachable ", 60) + "dial tcp 10.96.0.5:5000: connect: connection refused"
	msg, _, ok := BuildError(long)
	if !ok || utf8.RuneCountInString(msg) != 300 || !utf8.ValidString(msg) || !strings.Contains(msg, " … ") ||
		!strings.HasPrefix(msg, "error building image: ") || !strings.HasSuffix(msg, "connect: connection refused") {
		t.Errorf("BuildError = %q (%d characters), want 300 with its start and its root cause", msg, utf8.RuneCountInString(msg))
	}
}

func TestTailTo(t *testing.T) {
	const log = "a\nb\nc\nd\ne\n"
	for _, tc := range []struct {
		line, n int
		want    string
	}{
		{2, 2, "b\nc"},
		{4, 40, "a\nb\nc\nd\ne"}, // n beyond the start of the log
		{0, 3, "a"},              // the first line
		{1, 1, "b"},
		{99, 2, "d\ne"}, // past the end: the end, like Tail
		{-1, 3, ""},
		{2, 0, ""},
	} {
		if got := TailTo(log, tc.line, tc.n); got != tc.want {
			t.Errorf("TailTo(%d, %d) = %q, want %q", tc.line, tc.n, got, tc.want)
		}
	}
}

// The tail of a failed build ends at the builder's error, not at the stack
// trace or clean-up output printed after it.
func TestTailToEndsAtBuildError(t *testing.T) {
	log := buildahRunFailed + "\ngoroutine 1 [running]:\nmain.main()"
	_, line, ok := BuildError(log)
	if !ok {
		t.Fatal("no error found")
	}
	got := TailTo(log, line, 2)
	want := "time=\"2026-11-26T13:29:40Z\" level=error msg=\"Unmounting /var/lib/containers/storage/overlay/5c2e/merged: invalid argument\"\n" +
		`Error: building at STEP "RUN apt-get install -y nosuchpkg": while running runtime: exit status 100`
	if got != want {
		t.Errorf("TailTo = %q, want %q", got, want)
	}
}
