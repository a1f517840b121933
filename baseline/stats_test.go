package baseline

import (
	"fmt"
	"math"
	"testing"
)

// poissonTail is P(X >= k) computed directly, to check Critical against.
func poissonTail(mean float64, k int64) float64 {
	cdf, pmf := 0.0, math.Exp(-mean)
	for i := int64(0); i < k; i++ {
		cdf += pmf
		pmf *= mean / float64(i+1)
	}
	return 1 - cdf
}

func TestCriticalPoisson(t *testing.T) {
	for _, mean := range []float64{0.01, 0.5, 2, 10, 50} {
		k := Critical(mean, mean, 1e-4)
		if tail := poissonTail(mean, k); tail > 1e-4 {
			t.Errorf("mean %v: P(X>=%d)=%g exceeds alpha", mean, k, tail)
		}
		if tail := poissonTail(mean, k-1); tail <= 1e-4 {
			t.Errorf("mean %v: %d is not the smallest critical value (P(X>=%d)=%g)", mean, k, k-1, tail)
		}
	}
}

func TestCriticalOverdispersedIsWider(t *testing.T) {
	p := Critical(20, 20, 1e-4)
	nb := Critical(20, 200, 1e-4)
	if nb <= p {
		t.Fatalf("negative binomial threshold %d should exceed Poisson %d", nb, p)
	}
	big := Critical(10000, 40000, 1e-4)
	if big < 10000+3*200 || big > 10000+6*200 {
		t.Fatalf("large-mean threshold %d is not near mean + 3.7 sd", big)
	}
}

func TestDistinct(t *testing.T) {
	for _, n := range []int{0, 5, 24, 25, 100, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var d Distinct
			for i := 0; i < n; i++ {
				d.Add(hashString(fmt.Sprintf("tickets/%d", i)))
				d.Add(hashString(fmt.Sprintf("tickets/%d", i))) // repeats add nothing
			}
			got := d.Count()
			if n <= smallCap && got != int64(n) {
				t.Fatalf("count = %d, want exactly %d", got, n)
			}
			if math.Abs(float64(got-int64(n))) > 0.1*float64(n)+1 {
				t.Fatalf("count = %d, want about %d", got, n)
			}
			// A reset set (the next window) starts from nothing.
			d.Reset()
			for i := 0; i < n/2; i++ {
				d.Add(hashString(fmt.Sprintf("users/%d", i)))
			}
			if got := d.Count(); n/2 <= smallCap && got != int64(n/2) {
				t.Fatalf("after reset: count = %d, want exactly %d", got, n/2)
			}
		})
	}
}
