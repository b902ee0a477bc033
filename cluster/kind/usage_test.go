package kind

import (
	"context"
	"errors"
	"testing"
	"testing/fstest"
	"time"
)

func fakeAccounting(root fstest.MapFS, procCgroup string) *Accounting {
	return &Accounting{
		root: root,
		nodeDir: func(context.Context, string) (map[string]string, map[string]string, error) {
			v1, v2 := parseProcCgroup([]byte(procCgroup))
			return v1, v2, nil
		},
		nodes: map[string]nodeCgroups{},
		pods:  map[string]podCgroups{},
	}
}

func TestPodUsageCgroupV1(t *testing.T) {
	// cpuacct is mounted alone on our hosts, with cpu on others.
	for _, cpuacct := range []string{"cpuacct", "cpu,cpuacct"} {
		t.Run(cpuacct, func(t *testing.T) { testPodUsageV1(t, cpuacct) })
	}
}

func testPodUsageV1(t *testing.T, cpuacct string) {
	const uid = "3f1c2b9e-1111-2222-3333-444455556666"
	// A kind node on a cgroup v1 host with Docker's cgroupfs driver, as
	// seen on ours: the kubelet inside it uses systemd's, and the node's
	// systemd sits in init.scope for some controllers.
	pod := "docker/abc/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod3f1c2b9e_1111_2222_3333_444455556666.slice"
	root := fstest.MapFS{
		cpuacct + "/" + pod + "/cpuacct.usage":                 {Data: []byte("2500000000\n")},
		cpuacct + "/docker/abc/kubelet.slice/other/x/y":        {Data: nil},
		"memory/" + pod + "/memory.max_usage_in_bytes":         {Data: []byte("104857600\n")},
		cpuacct + "/docker/other/kubepods.slice/cpuacct.usage": {Data: []byte("1\n")},
	}
	a := fakeAccounting(root, "12:memory:/docker/abc/init.scope\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc/init.scope\n0::/docker/abc/init.scope\n")
	u, err := a.PodUsage(context.Background(), "n1", uid)
	if err != nil {
		t.Fatal(err)
	}
	if u.CPU != 2500*time.Millisecond || u.PeakMemory != 100<<20 {
		t.Errorf("usage %+v, want 2.5s and 100 MiB", u)
	}
	if _, err := a.PodUsage(context.Background(), "n1", "00000000-0000-0000-0000-000000000000"); !errors.Is(err, ErrNoCgroup) {
		t.Errorf("a pod without a cgroup: %v, want ErrNoCgroup", err)
	}
	// The pod ended: its cgroup is gone.
	delete(root, cpuacct+"/"+pod+"/cpuacct.usage")
	if _, err := a.PodUsage(context.Background(), "n1", uid); !errors.Is(err, ErrNoCgroup) {
		t.Errorf("a pod whose cgroup went: %v, want ErrNoCgroup", err)
	}
}

func TestPodUsageCgroupV2(t *testing.T) {
	const uid = "9d0e-77"
	pod := "system.slice/docker-abc.scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/kubelet-kubepods-burstable-pod9d0e_77.slice"
	root := fstest.MapFS{
		pod + "/cpu.stat":    {Data: []byte("usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n")},
		pod + "/memory.peak": {Data: []byte("52428800\n")},
	}
	a := fakeAccounting(root, "0::/system.slice/docker-abc.scope\n")
	u, err := a.PodUsage(context.Background(), "n1", uid)
	if err != nil {
		t.Fatal(err)
	}
	if u.CPU != 1500*time.Millisecond || u.PeakMemory != 50<<20 {
		t.Errorf("usage %+v, want 1.5s and 50 MiB", u)
	}
}
