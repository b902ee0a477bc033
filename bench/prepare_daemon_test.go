package bench

import "testing"

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
}
