package bench

import (
	"strings"
	"testing"
)

// A dead daemon's last words are its last message, not the stack trace
// after it.
func TestLastMessage(t *testing.T) {
	log := "time=\"2026-12-07T09:17:36Z\" level=info msg=\"stopping server\"\n" +
		"buildkitd: got SIGTERM/SIGINT, forcing shutdown\n" +
		"github.com/moby/buildkit/util/appcontext.initContexts.func1.1\n" +
		"\tgithub.com/moby/buildkit/util/appcontext/appcontext.go:53\n" +
		"runtime.goexit\n" +
		"\truntime/asm_amd64.s:1771\n"
	if got, want := lastMessage(log), "buildkitd: got SIGTERM/SIGINT, forcing shutdown"; got != want {
		t.Errorf("lastMessage = %q, want %q", got, want)
	}
	if got := lastMessage("panic: boom\n"); got != "panic: boom" {
		t.Errorf("lastMessage = %q", got)
	}
	// dockerd, stopped: gRPC's chatter about its connections comes last.
	stopped := `time="2026-12-07T15:30:10.450249245Z" level=info msg="Daemon shutdown complete"
time="2026-12-07T15:30:10.450554019Z" level=info msg="[core] Subchannel Connectivity change to SHUTDOWN" module=grpc
time="2026-12-07T15:30:10.453528947Z" level=info msg="[core] Subchannel picks a new address \"unix:///var/run/docker/containerd/containerd.sock\" to connect" module=grpc
`
	if got, want := lastMessage(stopped), `time="2026-12-07T15:30:10.450249245Z" level=info msg="Daemon shutdown complete"`; got != want {
		t.Errorf("lastMessage = %q, want %q", got, want)
	}
	// An error logged before the daemon's last words is what ended it.
	failed := `time="2026-12-07T15:30:10Z" level=error msg="failed to start daemon: error initializing graphdriver: driver not supported"
time="2026-12-07T15:30:10Z" level=info msg="stopping event stream following graceful shutdown"
`
	if got := lastMessage(failed); got != strings.Split(failed, "\n")[0] {
		t.Errorf("lastMessage = %q, want the error", got)
	}
}
