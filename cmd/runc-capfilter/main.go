// Command runc-capfilter is an OCI runtime for dockerd that drops the
// capabilities the host cannot grant, then runs the real runc. See package
// host/capfilter for why; host/install-docker.sh installs it.
package main

import (
	"fmt"
	"os"
	"syscall"

	"github.com/cachebench/cachebench/host/capfilter"
)

// realRunc is Debian's runc; RUNC_CAPFILTER_RUNC overrides it.
const realRunc = "/usr/sbin/runc"

func main() {
	runc := realRunc
	if v := os.Getenv("RUNC_CAPFILTER_RUNC"); v != "" {
		runc = v
	}
	if err := filter(os.Args[1:]); err != nil {
		// runc's caller shows stderr; keep going so runc reports its own error too.
		fmt.Fprintf(os.Stderr, "runc-capfilter: %v\n", err)
	}
	err := syscall.Exec(runc, append([]string{runc}, os.Args[1:]...), os.Environ())
	fmt.Fprintf(os.Stderr, "runc-capfilter: exec %s: %v\n", runc, err)
	os.Exit(127)
}

func filter(args []string) error {
	cwd, _ := os.Getwd()
	target, ok := capfilter.FindTarget(args, cwd)
	if !ok {
		return nil
	}
	allowed, err := capfilter.BoundingSet()
	if err != nil {
		return fmt.Errorf("read bounding set: %w", err)
	}
	return capfilter.FilterFile(target.Path, target.Spec, allowed)
}
