package bench

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Arrival is how the builds of one warm run at a concurrency level start:
// all at once (a burst, Rate 0), or one after another with the random
// gaps of a Poisson process of Rate builds a minute, as independent
// pushes arrive.
type Arrival struct{ Rate float64 }

// ArrivalBurst starts a level's builds together.
const ArrivalBurst = "burst"

// ParseArrival reads "burst" or "poisson:RATE" (builds a minute).
func ParseArrival(s string) (Arrival, error) {
	if s == ArrivalBurst {
		return Arrival{}, nil
	}
	rate, ok := strings.CutPrefix(s, "poisson:")
	if !ok {
		return Arrival{}, fmt.Errorf("%q: want burst, or poisson:RATE with RATE builds a minute (e.g. poisson:6)", s)
	}
	r, err := strconv.ParseFloat(rate, 64)
	if err != nil || !(r > 0 && r <= 600) {
		return Arrival{}, fmt.Errorf("%q: RATE must be a number of builds a minute above 0 and at most 600, e.g. poisson:6", s)
	}
	return Arrival{Rate: r}, nil
}

func (a Arrival) String() string {
	if a.Rate == 0 {
		return ArrivalBurst
	}
	return "poisson:" + strconv.FormatFloat(a.Rate, 'f', -1, 64)
}

// offsets are when each of k builds starts, after the first: all zero for
// a burst, else the sums of exponential gaps of mean 1/Rate minutes drawn
// from rng.
func (a Arrival) offsets(k int, rng *rand.Rand) []time.Duration {
	out := make([]time.Duration, k)
	if a.Rate == 0 {
		return out
	}
	mean := float64(time.Minute) / a.Rate
	for i := 1; i < k; i++ {
		out[i] = out[i-1] + time.Duration(rng.ExpFloat64()*mean)
	}
	return out
}
