package baseline

import "math"

// Critical returns the smallest count k such that P(X >= k) <= alpha for a
// count X with the given mean and variance: Poisson when the variance does
// not exceed the mean, negative binomial (method of moments) when it does.
// Low means are handled exactly by summing the probability mass, so a
// quiet agent's threshold is a real tail, not a z-score on two samples.
// Large means use a skew-corrected normal approximation of the same law.
func Critical(mean, variance, alpha float64) int64 {
	if mean < 0 || math.IsNaN(mean) {
		mean = 0
	}
	if mean < 1e-3 {
		mean = 1e-3
	}
	if variance < mean {
		variance = mean
	}
	if mean > 400 {
		return criticalNormal(mean, variance, alpha)
	}
	// pmf(0) and the ratio pmf(k+1)/pmf(k) for Poisson or NB.
	var p0 float64
	var ratio func(k float64) float64
	if variance <= mean*1.05 {
		p0 = math.Exp(-mean)
		ratio = func(k float64) float64 { return mean / (k + 1) }
	} else {
		r := mean * mean / (variance - mean)
		p := r / (r + mean) // success probability
		p0 = math.Exp(r * math.Log(p))
		q := 1 - p
		ratio = func(k float64) float64 { return (k + r) / (k + 1) * q }
	}
	if p0 == 0 || math.IsNaN(p0) {
		return criticalNormal(mean, variance, alpha)
	}
	cdf, pmf := 0.0, p0
	limit := int64(mean + 60*math.Sqrt(variance) + 50)
	for k := int64(0); k < limit; k++ {
		cdf += pmf
		if 1-cdf <= alpha {
			return k + 1
		}
		pmf *= ratio(float64(k))
	}
	return limit
}

// criticalNormal approximates the upper alpha quantile with the
// Cornish-Fisher skew correction of a negative binomial.
func criticalNormal(mean, variance, alpha float64) int64 {
	sd := math.Sqrt(variance)
	z := normalQuantile(1 - alpha)
	// Skewness of NB: (2*var - mean) / (var * sd); Poisson: 1/sqrt(mean).
	skew := (2*variance - mean) / (variance * sd)
	zc := z + (z*z-1)*skew/6
	return int64(math.Ceil(mean + zc*sd + 0.5))
}

// normalQuantile is Acklam's rational approximation of the standard normal
// inverse CDF (relative error below 1.2e-9).
func normalQuantile(p float64) float64 {
	a := [6]float64{-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00}
	b := [5]float64{-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01}
	c := [6]float64{-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00}
	d := [4]float64{7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00}
	switch {
	case p <= 0:
		return math.Inf(-1)
	case p >= 1:
		return math.Inf(1)
	case p < 0.02425:
		q := math.Sqrt(-2 * math.Log(p))
		return (((((c[0]*q+c[1])*q+c[2])*q+c[3])*q+c[4])*q + c[5]) / ((((d[0]*q+d[1])*q+d[2])*q+d[3])*q + 1)
	case p > 1-0.02425:
		q := math.Sqrt(-2 * math.Log(1-p))
		return -(((((c[0]*q+c[1])*q+c[2])*q+c[3])*q+c[4])*q + c[5]) / ((((d[0]*q+d[1])*q+d[2])*q+d[3])*q + 1)
	}
	q := p - 0.5
	r := q * q
	return (((((a[0]*r+a[1])*r+a[2])*r+a[3])*r+a[4])*r + a[5]) * q / (((((b[0]*r+b[1])*r+b[2])*r+b[3])*r+b[4])*r + 1)
}

// Distinct counts distinct values in one window with bounded memory: an
// exact small set of hashes, then (past smallCap values, as in a resource
// enumeration) a 1024-bit linear-counting bitmap, which stays within a few
// percent up to a few thousand values and saturates, never grows, beyond.
// The first few values are kept inline: most windows see only a few
// systems, networks, delegators and instances, and then Add reads no
// memory beyond the window itself.
type Distinct struct {
	n    uint32 // values in inl (the exact set is inl[:n] and more)
	inl  [distinctInline]uint32
	more []uint32
	bits *[16]uint64
}

const (
	smallCap       = 24
	distinctInline = 3
)

// Add records h and reports whether it was new (always true-ish estimates
// once the bitmap is in use: a bit that flips is new).
func (d *Distinct) Add(h uint32) bool {
	if d.bits == nil {
		for _, v := range d.inl[:d.n] {
			if v == h {
				return false
			}
		}
		if d.n < distinctInline {
			d.inl[d.n] = h
			d.n++
			return true
		}
		for _, v := range d.more {
			if v == h {
				return false
			}
		}
		if len(d.more) < smallCap-distinctInline {
			if d.more == nil {
				d.more = make([]uint32, 0, 4)
			}
			d.more = append(d.more, h)
			return true
		}
		d.bits = new([16]uint64)
		for _, v := range d.inl[:d.n] {
			d.setBit(v)
		}
		for _, v := range d.more {
			d.setBit(v)
		}
		d.n, d.more = 0, d.more[:0]
	}
	return d.setBit(h)
}

func (d *Distinct) setBit(h uint32) bool {
	i := (h * 0x9E3779B1) >> 22 // top 10 bits of a multiplicative mix
	w, m := i>>6, uint64(1)<<(i&63)
	if d.bits[w]&m != 0 {
		return false
	}
	d.bits[w] |= m
	return true
}

// Count is the exact or estimated number of distinct values.
func (d *Distinct) Count() int64 {
	if d.bits == nil {
		return int64(d.n) + int64(len(d.more))
	}
	set := 0
	for _, w := range d.bits {
		set += popcount(w)
	}
	const m = 1024.0
	zero := m - float64(set)
	if zero < 1 {
		zero = 1 // saturated: report the largest estimate
	}
	return int64(math.Round(-m * math.Log(zero/m)))
}

// Reset empties the set, keeping the overflow slice's storage.
func (d *Distinct) Reset() {
	d.n, d.more, d.bits = 0, d.more[:0], nil
}

func popcount(x uint64) int {
	n := 0
	for x != 0 {
		x &= x - 1
		n++
	}
	return n
}

// hashString64 is 64-bit FNV-1a; at 64 bits two resources colliding in
// the pattern cache is not a practical concern.
func hashString64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// hashString is FNV-1a, inlined to hash resources without allocating.
func hashString(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}
