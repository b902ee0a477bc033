// Package decision turns a benchmark's runs into one recommendation per
// build shape (workload, network, start): the builder and strategy with the
// lowest expected build time for a team's commit mix, among the rows its
// rules allow, with a bootstrap interval, its saving, what would change
// the answer, and its cost per 1,000 builds. Pure functions of the results
// and the team's inputs; it draws nothing.
package decision

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/cachebench/cachebench/results"
)

// Inputs are what a team tells the decision about itself.
type Inputs struct {
	// Mix weighs the change patterns of the team's commits; empty means
	// an even mix of the patterns the benchmark measured.
	Mix Mix
	// Allow is what the team's rules allow of results.Needs; nil allows
	// everything.
	Allow Allow
	// Current is the builder and strategy the team runs now, if given.
	Current *Row
	Prices  Prices
	// Defined are this cachebench's builders as a benchmark records them
	// (builders.Info): their needs serve benchmarks recorded before needs
	// were kept.
	Defined []results.BuilderInfo
}

// Mix is a commit mix: change pattern to weight (any positive scale).
type Mix map[string]float64

// ParseMix reads --mix: PATTERN=WEIGHT pairs separated by commas, e.g.
// "source=70,deps=20,base=5,none=5". Pattern names are checked against
// the benchmark later (Decide); here only the form and the weights.
func ParseMix(s string) (Mix, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	m := Mix{}
	sum := 0.0
	for _, part := range strings.Split(s, ",") {
		name, weight, ok := strings.Cut(strings.TrimSpace(part), "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("--mix: %q is not PATTERN=WEIGHT: give e.g. --mix source=70,deps=20,base=10", part)
		}
		w, err := strconv.ParseFloat(strings.TrimSpace(weight), 64)
		if err != nil || w < 0 || w != w || w > 1e12 {
			return nil, fmt.Errorf("--mix: the weight of %s, %q, is not a number of 0 or more: give e.g. %s=70", name, weight, name)
		}
		if _, dup := m[name]; dup {
			return nil, fmt.Errorf("--mix: %s is given twice: give each pattern once", name)
		}
		m[name] = w
		sum += w
	}
	if sum == 0 {
		return nil, fmt.Errorf("--mix: the weights sum to zero: give at least one pattern a positive weight")
	}
	return m, nil
}

// Patterns are the mix's patterns, heaviest first (then by name).
func (m Mix) Patterns() []string {
	ps := slices.Collect(maps.Keys(m))
	sort.Slice(ps, func(i, j int) bool {
		if m[ps[i]] != m[ps[j]] {
			return m[ps[i]] > m[ps[j]]
		}
		return ps[i] < ps[j]
	})
	return ps
}

// Sequence is n commits that follow the mix: each pattern as many times as
// its share of n, rounded so that they add up to n (the largest
// remainders round up), in an order shuffled once and for all, so that a
// soak of the same mix and length makes the same commits every time.
func (m Mix) Sequence(n int) []string {
	norm, patterns := m.normalized(), m.Patterns()
	counts, remainders := make([]int, len(patterns)), make([]float64, len(patterns))
	left := n
	for i, p := range patterns {
		whole, frac := math.Modf(norm[p] * float64(n))
		counts[i], remainders[i] = int(whole), frac
		left -= counts[i]
	}
	byRemainder := make([]int, len(patterns)) // indexes of patterns
	for i := range byRemainder {
		byRemainder[i] = i
	}
	slices.SortStableFunc(byRemainder, func(a, b int) int { return cmp.Compare(remainders[b], remainders[a]) })
	for _, i := range byRemainder[:left] {
		counts[i]++
	}
	var out []string
	for i, p := range patterns {
		for range counts[i] {
			out = append(out, p)
		}
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// normalized scales the weights to sum to 1.
func (m Mix) normalized() Mix {
	sum := 0.0
	for _, w := range m {
		sum += w
	}
	out := Mix{}
	for p, w := range m {
		out[p] = w / sum
	}
	return out
}

// String is the mix as shares, heaviest first: "source 70%, deps 20%".
func (m Mix) String() string {
	n := m.normalized()
	var parts []string
	for _, p := range m.Patterns() {
		parts = append(parts, fmt.Sprintf("%s %s", p, percent(n[p])))
	}
	return strings.Join(parts, ", ")
}

func percent(v float64) string {
	if v != 0 && v < 0.01 {
		return fmt.Sprintf("%.1f%%", v*100)
	}
	return fmt.Sprintf("%.0f%%", v*100)
}

// Allow is the set of needs a team's rules allow.
type Allow map[string]bool

// ParseAllow reads --allow: a list of results.Needs, "all" (the default)
// or "none" (only rows that need nothing a team may forbid).
func ParseAllow(names []string) (Allow, error) {
	if len(names) == 0 || (len(names) == 1 && names[0] == "all") {
		return nil, nil
	}
	a := Allow{}
	if len(names) == 1 && names[0] == "none" {
		return a, nil
	}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if !slices.Contains(results.Needs, n) {
			return nil, fmt.Errorf("--allow: unknown constraint %q: choose from %s, or all, or none", n, strings.Join(results.Needs, ", "))
		}
		a[n] = true
	}
	return a, nil
}

// allows reports whether every need is allowed.
func (a Allow) allows(needs []string) (bool, []string) {
	if a == nil {
		return true, nil
	}
	var forbidden []string
	for _, n := range needs {
		if !a[n] {
			forbidden = append(forbidden, n)
		}
	}
	return len(forbidden) == 0, forbidden
}

// String says what is allowed, for the report.
func (a Allow) String() string {
	if a == nil {
		return "everything allowed"
	}
	var allowed, forbidden []string
	for _, n := range results.Needs {
		if a[n] {
			allowed = append(allowed, n)
		} else {
			forbidden = append(forbidden, n)
		}
	}
	if len(forbidden) == 0 {
		return "everything allowed"
	}
	if len(allowed) == 0 {
		return "nothing allowed of " + strings.Join(forbidden, ", ")
	}
	return "allowed " + strings.Join(allowed, ", ") + "; not " + strings.Join(forbidden, ", ")
}

// Row is one builder under one strategy.
type Row struct{ Builder, Strategy string }

func (r Row) String() string { return r.Builder + "/" + r.Strategy }

// ParseRow reads --current: BUILDER/STRATEGY, e.g. kaniko/none.
func ParseRow(s string) (*Row, error) {
	if s == "" {
		return nil, nil
	}
	b, st, ok := strings.Cut(s, "/")
	if !ok || b == "" || st == "" || strings.Contains(st, "/") {
		return nil, fmt.Errorf("--current: %q is not BUILDER/STRATEGY: give e.g. --current kaniko/none", s)
	}
	return &Row{b, st}, nil
}

// Prices turn a build's measured use into money. The defaults are public
// on-demand prices of one cloud (README names them and their date).
type Prices struct {
	CPUHour        float64 // per CPU-hour used
	MemoryGBHour   float64 // per GB of peak memory held for an hour
	StorageGBMonth float64 // per GB of cache held for a month
	EgressGB       float64 // per GB a build moves to or from a registry or package source
	// BuildsPerMonth spreads a month of cache storage over the builds that
	// share it.
	BuildsPerMonth int
}

// DefaultPrices: AWS us-east-1 on-demand, Fargate Linux/x86 for CPU and
// memory, ECR private storage, data transfer out to the internet (first
// 10 TB); 1,000 builds a month.
var DefaultPrices = Prices{CPUHour: 0.04048, MemoryGBHour: 0.004445, StorageGBMonth: 0.10, EgressGB: 0.09, BuildsPerMonth: 1000}

// Check refuses prices a cost cannot be made of.
func (p Prices) Check() error {
	for _, f := range []struct {
		flag string
		v    float64
	}{{"--price-cpu-hour", p.CPUHour}, {"--price-memory-gb-hour", p.MemoryGBHour}, {"--price-gb-month", p.StorageGBMonth}, {"--price-egress-gb", p.EgressGB}} {
		if f.v < 0 || f.v != f.v {
			return fmt.Errorf("%s: %v is not a price: give 0 or more", f.flag, f.v)
		}
	}
	if p.BuildsPerMonth <= 0 {
		return fmt.Errorf("--builds-per-month: %d: give the number of builds a month, 1 or more", p.BuildsPerMonth)
	}
	return nil
}
