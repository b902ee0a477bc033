#!/usr/bin/env python3
"""CPU time per process name on this host, kind's nodes included (their
processes are the host's), while a command runs:

    python3 host/cpu-by-process.py -- go test ./bench -run 'TestCache$' ...

Every 2 s it reads each process's user and system time from /proc; at the
end it prints the host's busy CPU-seconds (from /proc/stat), the wall time,
and the CPU-seconds per process name, largest first. A process that starts
and ends between two samples is missed: the gap between the host's busy
time and the sum shows how much."""
import collections, os, subprocess, sys, threading, time

TICK = os.sysconf("SC_CLK_TCK")


def busy():
    v = [int(x) for x in open("/proc/stat").readline().split()[1:9]]
    return sum(v) - v[3] - v[4]  # all but idle and iowait


def processes():
    out = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            s = open("/proc/%s/stat" % p).read()
        except OSError:
            continue
        end = s.rfind(")")
        f = s[end + 2:].split()
        out[p] = (s[s.find("(") + 1:end], int(f[11]) + int(f[12]))
    return out


def main():
    args = sys.argv[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        sys.exit(__doc__)
    per = collections.Counter()
    last = processes()
    b0, t0 = busy(), time.time()
    child = subprocess.Popen(args)
    done = threading.Event()
    threading.Thread(target=lambda: (child.wait(), done.set()), daemon=True).start()
    while True:
        stop = done.wait(2)
        now = processes()
        for pid, (name, t) in now.items():
            before = last.get(pid)
            # A kernel worker renames itself with its work: same pid, same clock.
            per[name] += t - before[1] if before else t
        last = now
        if stop:
            break
    wall, host = time.time() - t0, (busy() - b0) / TICK
    seen = sum(per.values()) / TICK
    print("host busy %.0f CPU-s in %.0f s of wall time (%.2f cores); %.0f CPU-s seen by process" % (host, wall, host / wall, seen), file=sys.stderr)
    for name, t in per.most_common(30):
        print("%-24s %8.1f s" % (name, t / TICK), file=sys.stderr)
    sys.exit(child.returncode)


if __name__ == "__main__":
    main()
