package decision

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/cachebench/cachebench/results"
)

// Flags are the decision's command-line options, shared by `cachebench
// run` and `cachebench report`.
type Flags struct {
	Mix     string
	Allow   []string
	Current string
	Prices  Prices
}

// NewFlags are the defaults: an even mix, everything allowed, DefaultPrices.
func NewFlags() Flags { return Flags{Prices: DefaultPrices} }

// FlagNames are the flags Register adds, the ones a benchmark records.
var FlagNames = []string{"mix", "allow", "current", "price-cpu-hour", "price-memory-gb-hour", "price-gb-month", "price-egress-gb", "builds-per-month"}

// Register adds the flags to fs with f's values as defaults.
func (f *Flags) Register(fs *pflag.FlagSet) {
	fs.StringVar(&f.Mix, "mix", f.Mix, "your commit mix, as weights of change patterns, for the recommendation, e.g. source=70,deps=20,base=5,none=5 (default: an even mix of the patterns measured); with --soak (run), the soak's commits follow it")
	fs.StringSliceVar(&f.Allow, "allow", f.Allow, "what your rules allow, for the recommendation: "+strings.Join(results.Needs, ", ")+", all or none; rows that need anything else are left out (default all)")
	fs.StringVar(&f.Current, "current", f.Current, "the builder and strategy your pipelines run now, e.g. kaniko/none: the recommendation says what it saves against it")
	fs.Float64Var(&f.Prices.CPUHour, "price-cpu-hour", f.Prices.CPUHour, "dollars per CPU-hour, for the cost per 1,000 builds; the default is AWS Fargate's (Linux/x86, us-east-1, 2026)")
	fs.Float64Var(&f.Prices.MemoryGBHour, "price-memory-gb-hour", f.Prices.MemoryGBHour, "dollars per GB of memory held for an hour; the default is AWS Fargate's (Linux/x86, us-east-1, 2026)")
	fs.Float64Var(&f.Prices.StorageGBMonth, "price-gb-month", f.Prices.StorageGBMonth, "dollars per GB of cache stored for a month; the default is Amazon ECR's private storage (us-east-1, 2026)")
	fs.Float64Var(&f.Prices.EgressGB, "price-egress-gb", f.Prices.EgressGB, "dollars per GB a build moves to or from a registry or package source; the default is AWS data transfer out to the internet (us-east-1, 2026); 0 where nothing crosses a priced boundary")
	fs.IntVar(&f.Prices.BuildsPerMonth, "builds-per-month", f.Prices.BuildsPerMonth, "builds a month that share one cache's storage, for the cost per 1,000 builds")
}

// Inputs parses the flags.
func (f Flags) Inputs() (Inputs, error) {
	var in Inputs
	var err error
	if in.Mix, err = ParseMix(f.Mix); err != nil {
		return Inputs{}, err
	}
	if in.Allow, err = ParseAllow(f.Allow); err != nil {
		return Inputs{}, err
	}
	if in.Current, err = ParseRow(f.Current); err != nil {
		return Inputs{}, err
	}
	if err := f.Prices.Check(); err != nil {
		return Inputs{}, err
	}
	in.Prices = f.Prices
	return in, nil
}

// Settings render the flags for the results' environment file, under
// their flag names, so that a later report decides the same way.
func (f Flags) Settings() map[string]string {
	s := map[string]string{
		"price-cpu-hour":       fmt.Sprint(f.Prices.CPUHour),
		"price-memory-gb-hour": fmt.Sprint(f.Prices.MemoryGBHour),
		"price-gb-month":       fmt.Sprint(f.Prices.StorageGBMonth),
		"price-egress-gb":      fmt.Sprint(f.Prices.EgressGB),
		"builds-per-month":     fmt.Sprint(f.Prices.BuildsPerMonth),
	}
	if f.Mix != "" {
		s["mix"] = f.Mix
	}
	if len(f.Allow) > 0 {
		s["allow"] = strings.Join(f.Allow, ",")
	}
	if f.Current != "" {
		s["current"] = f.Current
	}
	return s
}

// Recorded sets every decision flag of fs that was not given on the
// command line to the value a benchmark recorded in its settings, so that
// its report decides as it was run to.
func Recorded(fs *pflag.FlagSet, settings map[string]string) error {
	for _, name := range FlagNames {
		f := fs.Lookup(name)
		v, ok := settings[name]
		if f == nil || f.Changed || !ok {
			continue
		}
		if err := fs.Set(name, v); err != nil {
			return fmt.Errorf("recorded setting %s=%q: %w", name, v, err)
		}
	}
	return nil
}

// RecordedInputs are the inputs a benchmark was run with.
func RecordedInputs(settings map[string]string) (Inputs, error) {
	f := NewFlags()
	fs := pflag.NewFlagSet("recorded", pflag.ContinueOnError)
	f.Register(fs)
	if err := Recorded(fs, settings); err != nil {
		return Inputs{}, err
	}
	return f.Inputs()
}
