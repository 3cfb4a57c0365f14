package bench

import (
	"fmt"
	"math"
	"slices"
)

// Summary is what a record's samples come to. Every figure is one of the
// samples (nearest-rank percentiles, see Percentile): nothing is averaged.
type Summary struct {
	N      int     `json:"n"`
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	P99    float64 `json:"p99"`
	Max    float64 `json:"max"`
}

// Summarize returns the summary of samples, which it does not modify. The
// median is the 50th percentile, so with an even count it is the lower of
// the two middle samples; with fewer than 100 samples the 99th percentile
// is the maximum. No samples give a zero Summary.
func Summarize(samples []float64) Summary {
	if len(samples) == 0 {
		return Summary{}
	}
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	return Summary{
		N:      len(sorted),
		Min:    sorted[0],
		Median: Percentile(sorted, 50),
		P99:    Percentile(sorted, 99),
		Max:    sorted[len(sorted)-1],
	}
}

// Percentile returns the p-th percentile of sorted (ascending, not empty)
// by the nearest-rank method: the smallest sample such that at least p
// percent of the samples are less than or equal to it, that is
// sorted[⌈p·n/100⌉-1], and the minimum for p = 0. It panics when sorted is
// empty or p is outside [0, 100]: both are mistakes of the caller.
func Percentile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		panic("bench: percentile of no samples")
	}
	if !(p >= 0 && p <= 100) {
		panic(fmt.Sprintf("bench: percentile %v is outside [0, 100]", p))
	}
	// p·n first: for a whole p the product is exact, so a rank that is a
	// whole number is not pushed up by a rounding error in p/100.
	rank := int(math.Ceil(p * float64(n) / 100))
	return sorted[min(max(rank, 1), n)-1]
}
