package results

import "testing"

func TestCoordinatesSlug(t *testing.T) {
	c := Coordinates{Workload: "small", Builder: "kaniko-chainguard", Strategy: "pv-warm", Round: 2, Cache: Warm, Attempt: 1, Network: "80ms+-10ms/2.5mbit", Change: "base", Start: StartTrigger}
	for _, tc := range []struct {
		c    Coordinates
		want string
	}{
		{c, "small-kaniko-chainguard-pv-warm-base-80ms-pm10ms-2p5mbit-r2-warm1"},
		{c.OfRound(), "small-kaniko-chainguard-pv-warm-base-80ms-pm10ms-2p5mbit-r2"},
		{Coordinates{Workload: "My_App", Builder: "buildkit", Strategy: "none", Round: 1, Cache: Cold, Network: LocalNetwork, Change: "none"}, "my-app-buildkit-none-none-local-r1-cold"},
	} {
		if got := tc.c.Slug(); got != tc.want {
			t.Errorf("%+v: Slug = %q, want %q", tc.c, got, tc.want)
		}
	}
	// Every coordinate of a round but how it started tells rounds apart.
	other := []Coordinates{c, c, c, c, c, c}
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
}
