// Package network puts a network profile (round-trip time, jitter,
// bandwidth) in front of each registry role, with Toxiproxy running in the
// cluster: our hosts' kernels have no netem, so the delay is added by a
// user-space proxy that every pull and push of that role passes through.
package network

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"

	"github.com/cachebench/cachebench/results"
)

// Profile is the network between the builders and one registry.
type Profile struct {
	// Name is the preset's name, or the profile as written for a custom one.
	Name string
	// RTT is the round-trip time added to every exchange, in whole
	// milliseconds (Toxiproxy's unit): half of it each way.
	RTT time.Duration
	// Jitter varies the round trip by up to ± itself.
	Jitter time.Duration
	// Bandwidth is the rate of each connection in each direction, in bits
	// per second; 0 leaves it unlimited.
	Bandwidth int64
}

// Local is the profile that adds nothing: pod to pod on one node.
const Local = "local"

// Presets are the named profiles. The figures are round numbers for the
// places a registry sits, not measurements: a registry in the cluster's own
// data centre (lan), and a public registry such as Docker Hub seen from a
// cloud region (wan).
var Presets = []Profile{
	{Name: Local},
	{Name: "lan", RTT: time.Millisecond, Bandwidth: 1_000_000_000},
	{Name: "wan", RTT: 30 * time.Millisecond, Jitter: 4 * time.Millisecond, Bandwidth: 100_000_000},
}

// PresetNames lists the presets' names.
func PresetNames() []string {
	var names []string
	for _, p := range Presets {
		names = append(names, p.Name)
	}
	return names
}

var custom = regexp.MustCompile(`^([0-9.]+(?:ms|s))(?:\+-([0-9.]+(?:ms|s)))?/([0-9.]+)([kmg]?)bit$`)

// Parse reads a preset's name or a custom profile
// "<rtt>[+-<jitter>]/<bandwidth>", e.g. "30ms/100mbit" or
// "80ms+-10ms/20mbit"; "unlimited" as bandwidth leaves it unlimited.
func Parse(s string) (Profile, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, p := range Presets {
		if p.Name == s {
			return p, nil
		}
	}
	spec := strings.Replace(s, "/unlimited", "/0bit", 1)
	m := custom.FindStringSubmatch(spec)
	if m == nil {
		return Profile{}, fmt.Errorf("network profile %q: give a preset (%s) or <rtt>[+-<jitter>]/<bandwidth>, e.g. 30ms/100mbit or 80ms+-10ms/20mbit", s, strings.Join(PresetNames(), ", "))
	}
	p := Profile{Name: s}
	var err error
	if p.RTT, err = time.ParseDuration(m[1]); err != nil {
		return Profile{}, fmt.Errorf("network profile %q: round-trip time: %w", s, err)
	}
	if m[2] != "" {
		if p.Jitter, err = time.ParseDuration(m[2]); err != nil {
			return Profile{}, fmt.Errorf("network profile %q: jitter: %w", s, err)
		}
	}
	if p.RTT%time.Millisecond != 0 || p.Jitter%time.Millisecond != 0 {
		return Profile{}, fmt.Errorf("network profile %q: give times in whole milliseconds, the finest Toxiproxy delays by", s)
	}
	if p.Jitter > p.RTT {
		return Profile{}, fmt.Errorf("network profile %q: jitter %s exceeds the round-trip time %s", s, p.Jitter, p.RTT)
	}
	rate, err := strconv.ParseFloat(m[3], 64)
	if err != nil {
		return Profile{}, fmt.Errorf("network profile %q: bandwidth: %w", s, err)
	}
	unit := map[string]float64{"": 1, "k": 1e3, "m": 1e6, "g": 1e9}[m[4]]
	p.Bandwidth = int64(math.Round(rate * unit))
	if p.Bandwidth > 0 && p.Bandwidth < 8_000 {
		return Profile{}, fmt.Errorf("network profile %q: bandwidth below 8kbit, the finest Toxiproxy can set", s)
	}
	return p, nil
}

// ParseList reads a comma-separated list of profiles, refusing a profile
// named twice.
func ParseList(specs []string) ([]Profile, error) {
	var ps []Profile
	seen := map[string]bool{}
	for _, s := range specs {
		p, err := Parse(s)
		if err != nil {
			return nil, err
		}
		if seen[p.Name] {
			return nil, fmt.Errorf("network profile %q given twice", p.Name)
		}
		seen[p.Name] = true
		ps = append(ps, p)
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("no network profile: give a preset (%s) or <rtt>/<bandwidth>", strings.Join(PresetNames(), ", "))
	}
	return ps, nil
}

// String is the profile's name.
func (p Profile) String() string { return p.Name }

// Slug is the name made fit for test names, repositories and Kubernetes
// names: "30ms/100mbit" becomes "30ms-100mbit", "80ms+-10ms/20mbit"
// "80ms-pm10ms-20mbit".
func (p Profile) Slug() string { return results.Slug(p.Name) }

// Describe says what the profile adds, e.g. "30ms ±2ms round trip, 100 Mbit/s".
func (p Profile) Describe() string {
	if p.RTT == 0 && p.Bandwidth == 0 {
		return "nothing added (pod to pod on the node)"
	}
	rtt := p.RTT.String() + " round trip"
	if p.Jitter > 0 {
		rtt = fmt.Sprintf("%s ±%s round trip", p.RTT, p.Jitter)
	}
	bw := "unlimited bandwidth"
	if p.Bandwidth > 0 {
		bw = formatBits(p.Bandwidth) + " per connection"
	}
	return rtt + ", " + bw
}

func formatBits(bps int64) string {
	switch {
	case bps >= 1e9 && bps%1e9 == 0:
		return fmt.Sprintf("%d Gbit/s", bps/1e9)
	case bps >= 1e6:
		return strconv.FormatFloat(float64(bps)/1e6, 'f', -1, 64) + " Mbit/s"
	default:
		return strconv.FormatFloat(float64(bps)/1e3, 'f', -1, 64) + " kbit/s"
	}
}

// Toxics are the Toxiproxy toxics that give a connection the profile: a
// latency toxic in each direction, the two adding up to the round trip in
// whole milliseconds (the jitter on the way back), and a bandwidth toxic in
// each direction (Toxiproxy's rate is in KB/s, per connection).
func (p Profile) Toxics() []toxiproxy.Toxic {
	var ts []toxiproxy.Toxic
	up := p.RTT.Milliseconds() / 2
	delay := map[string][2]int64{"upstream": {up, 0}, "downstream": {p.RTT.Milliseconds() - up, p.Jitter.Milliseconds()}}
	for _, stream := range []string{"upstream", "downstream"} {
		if d := delay[stream]; d[0] > 0 || d[1] > 0 {
			ts = append(ts, toxiproxy.Toxic{
				Name: "latency_" + stream, Type: "latency", Stream: stream, Toxicity: 1,
				Attributes: toxiproxy.Attributes{"latency": d[0], "jitter": d[1]},
			})
		}
		if p.Bandwidth > 0 {
			ts = append(ts, toxiproxy.Toxic{
				Name: "bandwidth_" + stream, Type: "bandwidth", Stream: stream, Toxicity: 1,
				Attributes: toxiproxy.Attributes{"rate": max(1, p.Bandwidth/8/1000)},
			})
		}
	}
	return ts
}
