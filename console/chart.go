package console

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"
)

// Charts are inline SVG built here: no script, no external asset, and
// the colours come from the stylesheet's classes so dark and light modes
// both read well. Every chart has a text alternative (role="img" and
// aria-label) for screen readers.

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// sparkline draws a day of hourly counts against the agent's usual
// hourly band (0 to p99, with the median marked); hours above p99 are
// drawn in the alert colour.
func sparkline(vals []float64, median, p99 float64, mature bool) template.HTML {
	const w, h, pad = 150.0, 26.0, 1.0
	top := p99 * 1.15
	for _, v := range vals {
		top = max(top, v)
	}
	if top <= 0 {
		top = 1
	}
	y := func(v float64) float64 { return h - pad - (h-2*pad)*v/top }
	bw := w / float64(len(vals))
	var b strings.Builder
	label := fmt.Sprintf("events per hour over the day shown; usual band up to %.0f per hour (p99)", p99)
	fmt.Fprintf(&b, `<svg class="spark" viewBox="0 0 %g %g" width="%g" height="%g" role="img" aria-label="%s">`, w, h, w, h, html.EscapeString(label))
	if mature && p99 > 0 {
		fmt.Fprintf(&b, `<rect class="band" x="0" y="%s" width="%g" height="%s"/>`, f1(y(p99)), w, f1(y(0)-y(p99)))
		fmt.Fprintf(&b, `<line class="median" x1="0" x2="%g" y1="%s" y2="%s"/>`, w, f1(y(median)), f1(y(median)))
	}
	// Two paths (within the band, above it) instead of a rectangle per
	// hour: the fleet page draws a thousand of these.
	var in, over strings.Builder
	barW := f1(max(bw-1, 1))
	for i, v := range vals {
		if v <= 0 {
			continue
		}
		p := &in
		if mature && p99 > 0 && v > p99 {
			p = &over
		}
		p.WriteString("M" + f1(float64(i)*bw+0.5) + " " + f1(y(0)) + "h" + barW + "V" + f1(y(v)) + "h-" + barW + "z")
	}
	if in.Len() > 0 {
		fmt.Fprintf(&b, `<path class="bar" d="%s"/>`, in.String())
	}
	if over.Len() > 0 {
		fmt.Fprintf(&b, `<path class="bar over" d="%s"/>`, over.String())
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// point is one window's observed value and what the baseline expected.
type point struct {
	T        time.Time
	V        float64
	Expected float64
}

// marker is an incident on the time axis.
type marker struct {
	T        time.Time
	Severity string
	Label    string
	Href     string
}

// series is one feature's chart.
type series struct {
	Feature, Title string
	Points         []point
	Median         float64
	P95, P99       float64
	Seasonality    string
	From, To       time.Time
	Markers        []marker
	Unit           func(float64) string
	// Wide draws a flatter chart, for a page with one chart across.
	Wide bool
}

// featureChart draws observed values per window (line), the seasonal
// expectation (dashed), the learned p95 to p99 band and median, and the
// agent's incidents as marks on the time axis, each a link.
func featureChart(s series) template.HTML {
	w, h := 760.0, 170.0
	if s.Wide {
		w = 1200
	}
	const left, right, top, bottom = 52.0, 8.0, 10.0, 22.0
	span := s.To.Sub(s.From).Seconds()
	if span <= 0 {
		span = 1
	}
	hi := max(s.P99*1.2, 1)
	for _, p := range s.Points {
		hi = max(hi, p.V, p.Expected)
	}
	hi = niceCeil(hi)
	x := func(t time.Time) float64 { return left + (w-left-right)*t.Sub(s.From).Seconds()/span }
	y := func(v float64) float64 { return h - bottom - (h-top-bottom)*min(v, hi)/hi }
	unit := s.Unit
	if unit == nil {
		unit = compact
	}
	var b strings.Builder
	label := fmt.Sprintf("%s per window from %s to %s: %d windows, learned median %s, p95 %s, p99 %s, %d incidents marked",
		s.Title, s.From.Format("Jan 2 15:04"), s.To.Format("Jan 2 15:04"), len(s.Points), unit(s.Median), unit(s.P95), unit(s.P99), len(s.Markers))
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %g %g" role="img" aria-label="%s">`, w, h, html.EscapeString(label))
	for i := 0; i <= 4; i++ {
		v := hi * float64(i) / 4
		fmt.Fprintf(&b, `<line class="grid" x1="%g" x2="%g" y1="%s" y2="%s"/>`, left, w-right, f1(y(v)), f1(y(v)))
		fmt.Fprintf(&b, `<text class="axis" x="%g" y="%s" text-anchor="end">%s</text>`, left-5, f1(y(v)+3), html.EscapeString(unit(v)))
	}
	for d := s.From.Truncate(24 * time.Hour).Add(24 * time.Hour); d.Before(s.To); d = d.Add(24 * time.Hour) {
		fmt.Fprintf(&b, `<line class="tick" x1="%s" x2="%s" y1="%g" y2="%g"/>`, f1(x(d)), f1(x(d)), top, h-bottom)
		fmt.Fprintf(&b, `<text class="axis" x="%s" y="%g" text-anchor="middle">%s</text>`, f1(x(d)+2), h-7, d.Format("Mon 2"))
	}
	if s.P99 > 0 {
		fmt.Fprintf(&b, `<rect class="band" x="%g" y="%s" width="%g" height="%s"><title>learned p95 %s to p99 %s</title></rect>`,
			left, f1(y(s.P99)), w-left-right, f1(max(y(s.P95)-y(s.P99), 1)), html.EscapeString(unit(s.P95)), html.EscapeString(unit(s.P99)))
		fmt.Fprintf(&b, `<line class="median" x1="%g" x2="%g" y1="%s" y2="%s"><title>learned median %s</title></line>`,
			left, w-right, f1(y(s.Median)), f1(y(s.Median)), html.EscapeString(unit(s.Median)))
	}
	if s.Seasonality != "flat" && s.Seasonality != "" {
		var pts []string
		for _, p := range s.Points {
			pts = append(pts, f1(x(p.T))+","+f1(y(p.Expected)))
		}
		if len(pts) > 1 {
			fmt.Fprintf(&b, `<polyline class="expected" points="%s"><title>expected for the hour (%s seasonality)</title></polyline>`, strings.Join(pts, " "), html.EscapeString(strings.ReplaceAll(s.Seasonality, "_", "-")))
		}
	}
	// The observed line breaks where windows are missing (no events).
	var run []string
	flush := func() {
		if len(run) > 1 {
			fmt.Fprintf(&b, `<polyline class="observed" points="%s"/>`, strings.Join(run, " "))
		}
		run = run[:0]
	}
	var prev time.Time
	for _, p := range s.Points {
		if !prev.IsZero() && p.T.Sub(prev) > 2*time.Hour {
			flush()
		}
		run = append(run, f1(x(p.T))+","+f1(y(p.V)))
		prev = p.T
		if s.P99 > 0 && p.V > s.P99 {
			fmt.Fprintf(&b, `<circle class="over" cx="%s" cy="%s" r="2.5"><title>%s: %s, above p99</title></circle>`, f1(x(p.T)), f1(y(p.V)), p.T.Format("Mon 15:04"), html.EscapeString(unit(p.V)))
		}
	}
	flush()
	for _, m := range s.Markers {
		if m.T.Before(s.From) || m.T.After(s.To) {
			continue
		}
		mx := f1(x(m.T))
		fmt.Fprintf(&b, `<a href="%s"><g class="marker sev-%s"><line x1="%s" x2="%s" y1="%g" y2="%g"/><path d="M%s %g l-5 -8 h10 z"/><title>%s</title></g></a>`,
			html.EscapeString(m.Href), html.EscapeString(m.Severity), mx, mx, top, h-bottom, mx, h-bottom, html.EscapeString(m.Label))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// heatmap draws hour-of-week (7 x 24) or hour-of-day (1 x 24) seasonal
// expectations as cells whose opacity follows the value.
func heatmap(vals []float64, title string) template.HTML {
	rows := len(vals) / 24
	if rows == 0 {
		return ""
	}
	const cell, gap, left, top = 14.0, 2.0, 30.0, 14.0
	hi := 0.0
	for _, v := range vals {
		hi = max(hi, v)
	}
	days := []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
	w, h := left+24*(cell+gap), top+float64(rows)*(cell+gap)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="heat" viewBox="0 0 %g %g" role="img" aria-label="%s">`, w, h, html.EscapeString(title))
	for hr := 0; hr < 24; hr += 6 {
		fmt.Fprintf(&b, `<text class="axis" x="%g" y="10">%02d:00</text>`, left+float64(hr)*(cell+gap), hr)
	}
	for r := 0; r < rows; r++ {
		name := "any"
		if rows == 7 {
			name = days[r]
		}
		fmt.Fprintf(&b, `<text class="axis" x="0" y="%g">%s</text>`, top+float64(r)*(cell+gap)+11, name)
		for c := 0; c < 24; c++ {
			v := vals[r*24+c]
			op := 0.06
			if hi > 0 {
				op = 0.06 + 0.94*v/hi
			}
			fmt.Fprintf(&b, `<rect class="cell" x="%g" y="%g" width="%g" height="%g" fill-opacity="%.2f"><title>%s %02d:00 UTC: %s expected</title></rect>`,
				left+float64(c)*(cell+gap), top+float64(r)*(cell+gap), cell, cell, op, name, c, compact(v))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// compact renders 1234567 as 1.2M, 0.25 as 0.25.
func compact(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e9:
		return trimZero(fmt.Sprintf("%.1f", v/1e9)) + "G"
	case a >= 1e6:
		return trimZero(fmt.Sprintf("%.1f", v/1e6)) + "M"
	case a >= 1e4:
		return trimZero(fmt.Sprintf("%.1f", v/1e3)) + "k"
	case a >= 10 || v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	}
	return trimZero(fmt.Sprintf("%.2f", v))
}

func trimZero(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
