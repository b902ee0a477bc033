package network

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"
)

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    Profile
		wantErr string
	}{
		{in: "local", want: Profile{Name: "local"}},
		{in: " WAN ", want: Presets[2]},
		{in: "30ms/100mbit", want: Profile{Name: "30ms/100mbit", RTT: 30 * time.Millisecond, Bandwidth: 100_000_000}},
		{in: "80ms+-10ms/2.5mbit", want: Profile{Name: "80ms+-10ms/2.5mbit", RTT: 80 * time.Millisecond, Jitter: 10 * time.Millisecond, Bandwidth: 2_500_000}},
		{in: "1s/1gbit", want: Profile{Name: "1s/1gbit", RTT: time.Second, Bandwidth: 1_000_000_000}},
		{in: "5ms/unlimited", want: Profile{Name: "5ms/unlimited", RTT: 5 * time.Millisecond}},
		{in: "0ms/64kbit", want: Profile{Name: "0ms/64kbit", Bandwidth: 64_000}},
		{in: "far", wantErr: "give a preset (local, lan, wan)"},
		{in: "30ms", wantErr: "<rtt>[+-<jitter>]/<bandwidth>"},
		{in: "30ms/100mbps", wantErr: "e.g. 30ms/100mbit"},
		{in: "0.5ms/1gbit", wantErr: "whole milliseconds"},
		{in: "10ms+-20ms/1mbit", wantErr: "jitter 20ms exceeds"},
		{in: "10ms/4kbit", wantErr: "below 8kbit"},
	} {
		got, err := Parse(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Parse(%q) = %v, %v; want an error with %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseList(t *testing.T) {
	ps, err := ParseList([]string{"local", "wan", "5ms/10mbit"})
	if err != nil || len(ps) != 3 || ps[1].Name != "wan" {
		t.Fatalf("ParseList = %v, %v", ps, err)
	}
	for _, bad := range [][]string{nil, {"wan", "WAN"}, {"local", "nowhere"}} {
		if _, err := ParseList(bad); err == nil {
			t.Errorf("ParseList(%q) took it", bad)
		}
	}
}

func TestToxics(t *testing.T) {
	if ts := Presets[0].Toxics(); len(ts) != 0 {
		t.Errorf("local adds toxics: %v", ts)
	}
	// lan: 1 ms round trip goes one way, in whole milliseconds.
	lan, _ := Parse("lan")
	delay := map[string]int64{}
	for _, x := range lan.Toxics() {
		if x.Type == "latency" {
			delay[x.Stream] = x.Attributes["latency"].(int64)
		}
		if x.Type == "bandwidth" && x.Attributes["rate"].(int64) != 125_000 {
			t.Errorf("lan %s rate %v KB/s, want 125000", x.Stream, x.Attributes["rate"])
		}
	}
	if delay["upstream"]+delay["downstream"] != 1 {
		t.Errorf("lan delays %v do not add up to 1 ms", delay)
	}
	wan, _ := Parse("wan")
	var n, jitter int
	for _, x := range wan.Toxics() {
		n++
		switch x.Type {
		case "latency":
			if x.Attributes["latency"].(int64) != 15 {
				t.Errorf("wan %s latency %v, want 15 ms each way", x.Stream, x.Attributes["latency"])
			}
			if j := x.Attributes["jitter"].(int64); j > 0 {
				jitter++
				if j != 4 {
					t.Errorf("wan jitter %d ms, want 4", j)
				}
			}
		case "bandwidth":
			if x.Attributes["rate"].(int64) != 12_500 {
				t.Errorf("wan %s rate %v KB/s, want 12500 (100 Mbit/s)", x.Stream, x.Attributes["rate"])
			}
		}
	}
	if n != 4 || jitter != 1 {
		t.Errorf("wan: %d toxics with jitter on %d; want 4, jitter on the way back only", n, jitter)
	}
}

func TestDescribe(t *testing.T) {
	for in, want := range map[string]string{
		"local":         "nothing added (pod to pod on the node)",
		"wan":           "30ms ±4ms round trip, 100 Mbit/s per connection",
		"lan":           "1ms round trip, 1 Gbit/s per connection",
		"5ms/unlimited": "5ms round trip, unlimited bandwidth",
		"20ms/2.5mbit":  "20ms round trip, 2.5 Mbit/s per connection",
		"200ms/512kbit": "200ms round trip, 512 kbit/s per connection",
	} {
		p, err := Parse(in)
		if err != nil || p.Describe() != want {
			t.Errorf("Parse(%q).Describe() = %q, %v; want %q", in, p.Describe(), err, want)
		}
	}
}

func TestSameToxics(t *testing.T) {
	wan, _ := Parse("wan")
	want := wan.Toxics()
	// What Toxiproxy's API returns: the same toxics, numbers decoded from
	// JSON as float64, in another order.
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var have []toxiproxy.Toxic
	if err := json.Unmarshal(b, &have); err != nil {
		t.Fatal(err)
	}
	slices.Reverse(have)
	if !sameToxics(have, want) {
		t.Errorf("the toxics read back do not match: %v vs %v", have, want)
	}
	lan, _ := Parse("lan")
	if sameToxics(have, lan.Toxics()) || sameToxics(nil, want) || !sameToxics(nil, nil) {
		t.Error("different toxics compare equal")
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{"wan": "wan", "30ms/100mbit": "30ms-100mbit", "80ms+-10ms/2.5mbit": "80ms-pm10ms-2p5mbit", "5ms/unlimited": "5ms-unlimited"} {
		p, err := Parse(in)
		if err != nil || p.Slug() != want {
			t.Errorf("Parse(%q).Slug() = %q, %v; want %q", in, p.Slug(), err, want)
		}
	}
}
