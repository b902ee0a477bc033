// Package capfilter makes privileged containers start on hosts whose capability
// bounding set is smaller than the set Docker asks for.
//
// Docker gives a privileged container every capability it knows. When the host
// runs inside a sandbox that dropped one (CAP_SYS_RESOURCE on our machines),
// runc fails with "unable to apply caps". An OCI runtime wrapper that removes
// the capabilities the host cannot grant, then runs the real runc, fixes that.
// It must rewrite both the bundle's config.json (create, run) and the process
// file of "runc exec", since kind does everything through "docker exec".
package capfilter

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// capNames lists Linux capabilities by number (see capabilities(7)).
var capNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
	"CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
	"CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
	"CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// Set is a set of capabilities, bit n standing for capability n.
type Set uint64

// Has reports whether the named capability is in the set. Names the table
// does not know are kept: refusing them is runc's business, not ours.
func (s Set) Has(name string) bool {
	for i, n := range capNames {
		if strings.EqualFold(n, name) {
			return s&(1<<uint(i)) != 0
		}
	}
	return true
}

// ParseStatus reads the CapBnd line of a /proc/<pid>/status file.
func ParseStatus(status string) (Set, error) {
	sc := bufio.NewScanner(strings.NewReader(status))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || key != "CapBnd" {
			continue
		}
		v, err := strconv.ParseUint(strings.TrimSpace(val), 16, 64)
		if err != nil {
			return 0, fmt.Errorf("parse CapBnd %q: %w", strings.TrimSpace(val), err)
		}
		return Set(v), nil
	}
	return 0, fmt.Errorf("no CapBnd line in process status")
}

// BoundingSet returns the bounding set of the calling process.
func BoundingSet() (Set, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	return ParseStatus(string(b))
}

// FilterProcess removes capabilities absent from allowed from an OCI process
// object (decoded as generic JSON so that unknown fields survive). It reports
// whether anything changed.
func FilterProcess(process map[string]any, allowed Set) bool {
	caps, ok := process["capabilities"].(map[string]any)
	if !ok {
		return false
	}
	changed := false
	for _, kind := range []string{"bounding", "effective", "inheritable", "permitted", "ambient"} {
		list, ok := caps[kind].([]any)
		if !ok {
			continue
		}
		kept := make([]any, 0, len(list))
		for _, c := range list {
			if name, isString := c.(string); isString && !allowed.Has(name) {
				changed = true
				continue
			}
			kept = append(kept, c)
		}
		caps[kind] = kept
	}
	return changed
}

// FilterFile rewrites a JSON file in place. When spec is true the file is a
// bundle's config.json (process under "process"); otherwise it is a process
// file as given to "runc exec --process".
func FilterFile(path string, spec bool, allowed Set) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	process := doc
	if spec {
		p, ok := doc["process"].(map[string]any)
		if !ok {
			return nil
		}
		process = p
	}
	if !FilterProcess(process, allowed) {
		return nil
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, info.Mode().Perm())
}

// Target is the file a runc invocation reads capabilities from.
type Target struct {
	Path string
	Spec bool // a bundle config.json rather than an exec process file
}

// globalWithValue lists runc's global flags that take a separate value.
var globalWithValue = map[string]bool{"--root": true, "--log": true, "--log-format": true, "--criu": true, "--rootless": true}

// FindTarget works out which file a runc command line will read, if any.
// cwd is the bundle when create/run is given no --bundle.
func FindTarget(args []string, cwd string) (Target, bool) {
	cmd, rest := "", []string(nil)
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			if globalWithValue[a] {
				i++
			}
			continue
		}
		cmd, rest = a, args[i+1:]
		break
	}
	switch cmd {
	case "create", "run":
		bundle := cwd
		if v, ok := flagValue(rest, "--bundle", "-b"); ok {
			bundle = v
		}
		return Target{Path: filepath.Join(bundle, "config.json"), Spec: true}, true
	case "exec":
		if v, ok := flagValue(rest, "--process", "-p"); ok {
			return Target{Path: v}, true
		}
	}
	return Target{}, false
}

func flagValue(args []string, long, short string) (string, bool) {
	for i, a := range args {
		if a == "--" {
			break
		}
		for _, name := range []string{long, short} {
			if a == name && i+1 < len(args) {
				return args[i+1], true
			}
			if v, ok := strings.CutPrefix(a, name+"="); ok {
				return v, true
			}
		}
	}
	return "", false
}
