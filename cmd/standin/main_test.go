package main

import "testing"

func TestParseBridge(t *testing.T) {
	for _, tc := range []struct{ out, gateway, iface string }{
		{"172.17.0.1 |docker0\n", "172.17.0.1", ""},
		{"fd00::1 10.89.0.1 |br0", "10.89.0.1", ""},
		{" |docker0", "", "docker0"}, // no gateway reported: the interface's address is used
		{"|", "", "docker0"},
		{"<no value> |br-x", "", "br-x"},
	} {
		if g, i := parseBridge(tc.out); g != tc.gateway || i != tc.iface {
			t.Errorf("parseBridge(%q) = %q, %q; want %q, %q", tc.out, g, i, tc.gateway, tc.iface)
		}
	}
}
