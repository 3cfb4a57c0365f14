package bench

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	hundred := make([]float64, 100)
	for i := range hundred {
		hundred[i] = float64(i + 1)
	}
	tests := []struct {
		name   string
		sorted []float64
		p      float64
		want   float64
	}{
		{"one sample p0", []float64{7}, 0, 7},
		{"one sample p50", []float64{7}, 50, 7},
		{"one sample p100", []float64{7}, 100, 7},
		{"odd count median", []float64{1, 2, 3}, 50, 2},
		{"even count median is the lower middle", []float64{1, 2, 3, 4}, 50, 2},
		{"just above a rank", []float64{1, 2, 3, 4}, 50.1, 3},
		{"p0 is the minimum", []float64{1, 2, 3, 4}, 0, 1},
		{"p100 is the maximum", []float64{1, 2, 3, 4}, 100, 4},
		{"p99 of few samples is the maximum", []float64{1, 2, 3, 4, 5}, 99, 5},
		{"p99 of 100", hundred, 99, 99},
		{"p1 of 100", hundred, 1, 1},
		{"p99.5 of 100", hundred, 99.5, 100},
		{"p25 of 10", []float64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, 25, 30},
		{"repeated values", []float64{1, 1, 1, 5}, 75, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("Percentile(%v, %v) = %v, want %v", tt.sorted, tt.p, got, tt.want)
			}
		})
	}
}

func TestPercentilePanics(t *testing.T) {
	tests := []struct {
		name   string
		sorted []float64
		p      float64
	}{
		{"no samples", nil, 50},
		{"negative p", []float64{1}, -1},
		{"p above 100", []float64{1}, 100.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Percentile(%v, %v) did not panic", tt.sorted, tt.p)
				}
			}()
			Percentile(tt.sorted, tt.p)
		})
	}
}

// naivePercentile is the definition read literally: the smallest sample x
// with at least p percent of the samples ≤ x, counted one by one.
func naivePercentile(samples []float64, p int) float64 {
	best := samples[0]
	found := false
	for _, x := range samples {
		atMost := 0
		for _, y := range samples {
			if y <= x {
				atMost++
			}
		}
		if 100*atMost >= p*len(samples) && (!found || x < best) {
			best, found = x, true
		}
	}
	return best
}

func TestPercentileMatchesDefinition(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	for range 500 {
		samples := make([]float64, 1+rng.IntN(300))
		for i := range samples {
			samples[i] = float64(rng.IntN(50)) // repeats on purpose
		}
		sorted := slices.Clone(samples)
		slices.Sort(sorted)
		for _, p := range []int{0, 1, 25, 50, 75, 90, 99, 100} {
			if got, want := Percentile(sorted, float64(p)), naivePercentile(samples, p); got != want {
				t.Fatalf("seed %d: p%d of %v = %v, want %v", seed, p, samples, got, want)
			}
		}
	}
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		name    string
		samples []float64
		want    Summary
	}{
		{"none", nil, Summary{}},
		{"one", []float64{3.5}, Summary{N: 1, Min: 3.5, Median: 3.5, P99: 3.5, Max: 3.5}},
		{"unsorted", []float64{9, 1, 5, 3}, Summary{N: 4, Min: 1, Median: 3, P99: 9, Max: 9}},
		{"odd", []float64{812, 790, 1030}, Summary{N: 3, Min: 790, Median: 812, P99: 1030, Max: 1030}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.samples)
			if got := Summarize(in); got != tt.want {
				t.Errorf("Summarize(%v) = %+v, want %+v", tt.samples, got, tt.want)
			}
			if !slices.Equal(in, tt.samples) {
				t.Errorf("Summarize reordered its input: %v, was %v", in, tt.samples)
			}
		})
	}
}

func TestSummarizeP99OfMany(t *testing.T) {
	samples := make([]float64, 1000)
	for i := range samples {
		samples[len(samples)-1-i] = float64(i + 1) // 1000 down to 1
	}
	got := Summarize(samples)
	want := Summary{N: 1000, Min: 1, Median: 500, P99: 990, Max: 1000}
	if got != want {
		t.Errorf("Summarize(1000..1) = %+v, want %+v", got, want)
	}
}
