package results

import "testing"

func TestCoordinatesSlug(t *testing.T) {
	c := Coordinates{Workload: "small", Builder: "kaniko-chainguard", Strategy: "pv-warm", Round: 2, Cache: Warm, Attempt: 1, Network: "80ms+-10ms/2.5mbit", Change: "base", Start: StartTrigger}
	member := c
	member.Concurrency, member.Member = 4, 3
	for _, tc := range []struct {
		c    Coordinates
		want string
	}{
		{c, "small-kaniko-chainguard-pv-warm-base-80ms-pm10ms-2p5mbit-r2-warm1"},
		{c.OfRound(), "small-kaniko-chainguard-pv-warm-base-80ms-pm10ms-2p5mbit-r2"},
		{member, "small-kaniko-chainguard-pv-warm-base-80ms-pm10ms-2p5mbit-r2-x4-warm1-m3"},
		{member.OfRound(), "small-kaniko-chainguard-pv-warm-base-80ms-pm10ms-2p5mbit-r2-x4"},
		{Coordinates{Workload: "My_App", Builder: "buildkit", Strategy: "none", Round: 1, Cache: Cold, Network: LocalNetwork, Change: "none"}, "my-app-buildkit-none-none-local-r1-cold"},
	} {
		if got := tc.c.Slug(); got != tc.want {
			t.Errorf("%+v: Slug = %q, want %q", tc.c, got, tc.want)
		}
	}
	// Every coordinate of a round but how it started tells rounds apart.
	other := []Coordinates{c, c, c, c, c, c, c}
	other[6].Concurrency = 4
	other[0].Workload = "gobuild"
	other[1].Builder = "kaniko"
	other[2].Strategy = "registry"
	other[3].Change = "source"
	other[4].Network = LocalNetwork
	other[5].Round = 3
	for _, o := range other {
		if o.OfRound().Slug() == c.OfRound().Slug() {
			t.Errorf("rounds %+v and %+v share the name %q", o, c, c.OfRound().Slug())
		}
	}
}

func TestCoordinatesOf(t *testing.T) {
	c := Coordinates{Workload: "small", Builder: "buildah", Strategy: "registry", Round: 4, Cache: Warm, Attempt: 2, Network: LocalNetwork, Change: "none", Start: StartAPI}
	r := c.OfRound()
	if r.Cache != "" || r.Attempt != 0 || r.Round != 4 || r.Builder != "buildah" {
		t.Errorf("OfRound = %+v", r)
	}
	cold := c
	cold.Cache, cold.Attempt = Cold, 0
	if cold.OfRound() != r {
		t.Errorf("a round's cold and warm runs have different rounds: %+v, %+v", cold.OfRound(), r)
	}
	g := c.OfGroup()
	if g.Round != 0 || g.Attempt != 0 || g.Cache != Warm || g.Start != StartAPI {
		t.Errorf("OfGroup = %+v", g)
	}
	other := c
	other.Round, other.Attempt = 7, 1
	if other.OfGroup() != g {
		t.Errorf("two rounds' warm runs are in different groups: %+v, %+v", other.OfGroup(), g)
	}
	// The builds of a warm run at a concurrency level share its round and
	// group; the levels do not.
	m0, m1 := c, c
	m0.Concurrency, m1.Concurrency, m1.Member = 2, 2, 1
	if m0.OfRound() != m1.OfRound() || m0.OfGroup() != m1.OfGroup() {
		t.Errorf("a level's builds are in different rounds or groups: %+v, %+v", m0, m1)
	}
	if m0.OfGroup() == g || m0.OfRound() == r {
		t.Errorf("concurrency levels 1 and 2 share a round or group: %+v", m0)
	}
}

// Slug names files and repositories in ASCII, whatever the report calls them.
func TestSlugOfNames(t *testing.T) {
	for in, want := range map[string]string{"small": "small", "small@wan~trigger": "small-wan-trigger", "gobuild+source@30ms/100mbit": "gobuild+source-30ms-100mbit", "small×4": "small-x4", "small@wan×16": "small-wan-x16"} {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}
