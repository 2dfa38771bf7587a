package bench

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// Two plots in plain SVG (no plotting library needed): fork latency
// against the parent's resident memory, nsvm and the host; and the
// distribution of fork latencies on both sides. Both use log scales (the
// memory sweep spans 0 to 1 GiB, and nsvm and the host are an order of
// magnitude apart on small forks), and µs for latency.

const (
	plotW, plotH = 640, 400
	padL, padB   = 70, 50
	padT, padR   = 30, 20
)

var sides = []struct {
	name, color string
	get         func(Pair) Stats
}{
	{"nsvm", "#d62728", func(p Pair) Stats { return p.NSVM }},
	{"host", "#1f77b4", func(p Pair) Stats { return p.Native }},
}

func svgHeader(w io.Writer, title string) {
	fmt.Fprintf(w, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\">\n", plotW, plotH, plotW, plotH)
	fmt.Fprintf(w, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", plotW, plotH)
	fmt.Fprintf(w, "<text x=\"%d\" y=\"18\" font-size=\"13\" font-weight=\"bold\">%s</text>\n", padL, title)
}

func axes(w io.Writer, xlabel, ylabel string) {
	x0, y0 := padL, plotH-padB
	fmt.Fprintf(w, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", x0, y0, plotW-padR, y0)
	fmt.Fprintf(w, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", x0, y0, x0, padT)
	fmt.Fprintf(w, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", (x0+plotW-padR)/2, plotH-10, xlabel)
	fmt.Fprintf(w, "<text x=\"14\" y=\"%d\" transform=\"rotate(-90 14 %d)\" text-anchor=\"middle\">%s</text>\n", (padT+y0)/2, (padT+y0)/2, ylabel)
}

// niceMax rounds up to 1, 2 or 5 times a power of ten.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*e >= v {
			return m * e
		}
	}
	return 10 * e
}

// logScale maps [lo, hi] (lo > 0) logarithmically onto [a, b].
type logScale struct{ lo, hi, a, b float64 }

func (s logScale) at(v float64) float64 {
	return s.a + (s.b-s.a)*math.Log(v/s.lo)/math.Log(s.hi/s.lo)
}

// span125 widens [lo, hi] to the nearest 1, 2 or 5 times a power of ten
// on each side (a factor of at least 2 apart).
func span125(lo, hi float64) (float64, float64) {
	down := func(v float64) float64 {
		e := math.Pow(10, math.Floor(math.Log10(v)))
		for _, m := range []float64{5, 2, 1} {
			if m*e <= v*1.0001 {
				return m * e
			}
		}
		return e
	}
	lo, hi = down(lo), niceMax(hi)
	if hi < 2*lo {
		hi = niceMax(2 * lo)
	}
	return lo, hi
}

// ticks125 are 1, 2 and 5 times the powers of ten in [lo, hi].
func ticks125(lo, hi float64) []float64 {
	var t []float64
	for e := math.Pow(10, math.Floor(math.Log10(lo))); e <= hi*1.0001; e *= 10 {
		for _, m := range []float64{1, 2, 5} {
			if v := m * e; v >= lo*0.9999 && v <= hi*1.0001 {
				t = append(t, v)
			}
		}
	}
	return t
}

// latencyRange is the smallest and largest positive value of get over
// the pairs, both sides, in µs.
func latencyRange(ps []Pair, get func(Stats) float64) (lo, hi float64) {
	lo, hi = math.Inf(1), 0
	for _, p := range ps {
		for _, s := range sides {
			if v := get(s.get(p)) / 1000; v > 0 {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if hi == 0 {
		return 1, 10
	}
	return lo, hi
}

// yLogAxis draws a log latency axis (µs) with gridlines and returns it.
func yLogAxis(w io.Writer, lo, hi float64) logScale {
	lo, hi = span125(lo/1.1, hi*1.1) // no point on the frame
	y := logScale{lo, hi, plotH - padB, padT}
	for _, v := range ticks125(lo, hi) {
		yy := y.at(v)
		fmt.Fprintf(w, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", padL, yy, plotW-padR, yy)
		fmt.Fprintf(w, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", padL-4, yy+4, usLabel(v))
	}
	return y
}

// usLabel writes a µs value for an axis: 5, 50, 500, 5000.
func usLabel(v float64) string {
	if v >= 1 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%g", v)
}

// mibLabel names a memory size for the axis.
func mibLabel(m int) string {
	if m >= 1024 && m%1024 == 0 {
		return fmt.Sprintf("%d GiB", m/1024)
	}
	return fmt.Sprintf("%d MiB", m)
}

// WriteMemoryPlot draws median fork latency against the memory the
// parent touched, both on log scales. 0 MiB has no place on a log
// scale: it sits left of the axis, past a break.
func (r *Results) WriteMemoryPlot(w io.Writer) {
	svgHeader(w, fmt.Sprintf("fork+exit+wait vs parent resident memory (%s KVM)", r.Platform.KVM))
	axes(w, "parent memory touched (log scale)", "median latency (µs, log scale)")
	lo, hi := latencyRange(r.Memory, func(s Stats) float64 { return s.Median })
	y := yLogAxis(w, lo, hi)
	// The memory axis: powers of 4 MiB from 1 MiB up to the largest
	// point, and a slot for 0.
	hiMiB := 4
	for _, p := range r.Memory {
		for hiMiB < p.MiB {
			hiMiB *= 4
		}
	}
	const zeroX, breakX = padL + 22, padL + 46
	x := logScale{1, float64(hiMiB), padL + 70, plotW - padR - 20}
	at := func(mib int) float64 {
		if mib <= 0 {
			return zeroX
		}
		return x.at(float64(mib))
	}
	for m := 1; m <= hiMiB; m *= 4 {
		xx := at(m)
		fmt.Fprintf(w, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>\n", xx, padT, xx, plotH-padB)
		fmt.Fprintf(w, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", xx, plotH-padB+16, mibLabel(m))
	}
	fmt.Fprintf(w, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">0</text>\n", zeroX, plotH-padB+16)
	// The break in the axis between 0 and the log scale.
	fmt.Fprintf(w, "<rect x=\"%d\" y=\"%d\" width=\"8\" height=\"6\" fill=\"white\"/>\n", breakX-4, plotH-padB-3)
	for _, dx := range []int{-4, 1} {
		fmt.Fprintf(w, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", breakX+dx, plotH-padB+5, breakX+dx+4, plotH-padB-5)
	}
	// The points, joined; the segment from 0 across the break is dashed.
	for _, side := range sides {
		var pts []string
		zero := "" // the 0 MiB point
		for _, p := range r.Memory {
			v := side.get(p).Median / 1000
			if v <= 0 {
				continue
			}
			px, py := at(p.MiB), y.at(v)
			pt := fmt.Sprintf("%.1f,%.1f", px, py)
			switch {
			case p.MiB == 0:
				zero = pt
			case zero != "" && len(pts) == 0:
				fmt.Fprintf(w, "<polyline points=\"%s %s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-dasharray=\"3 3\"/>\n", zero, pt, side.color)
				fallthrough
			default:
				pts = append(pts, pt)
			}
			fmt.Fprintf(w, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", px, py, side.color)
		}
		if len(pts) > 1 {
			fmt.Fprintf(w, "<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"/>\n", strings.Join(pts, " "), side.color)
		}
	}
	legend(w)
	fmt.Fprintln(w, "</svg>")
}

// legend names the sides' colours, in the title line's right end.
func legend(w io.Writer) {
	for i, s := range sides {
		x := plotW - padR - 110 + 56*i
		fmt.Fprintf(w, "<rect x=\"%d\" y=\"11\" width=\"12\" height=\"5\" fill=\"%s\"/><text x=\"%d\" y=\"18\">%s</text>\n", x, s.color, x+16, s.name)
	}
}

// WriteHistogram draws the distribution of fork latencies, both sides,
// over log-spaced bins of a log latency axis (µs): each side's shape
// stays visible however far apart the two are.
func (r *Results) WriteHistogram(w io.Writer) {
	svgHeader(w, fmt.Sprintf("fork+exit+wait latency distribution (%s KVM)", r.Platform.KVM))
	if len(r.Latency) == 0 {
		axes(w, "latency (µs, log scale)", "samples")
		fmt.Fprintln(w, "</svg>")
		return
	}
	f := r.Latency[0]
	axes(w, fmt.Sprintf("%s latency (µs, log scale), %d samples a side", f.Name, f.NSVM.N), "samples")
	lo, hi := latencyRange([]Pair{f}, func(s Stats) float64 { return s.Min })
	_, hi2 := latencyRange([]Pair{f}, func(s Stats) float64 { return s.Max })
	lo, hi = span125(lo, math.Max(hi, hi2))
	x := logScale{lo, hi, padL, plotW - padR}
	const bins = 60
	count := func(s []float64) []int {
		c := make([]int, bins)
		for _, v := range s {
			if v <= 0 {
				continue
			}
			b := int(math.Log(v/1000/lo) / math.Log(hi/lo) * bins)
			c[min(max(b, 0), bins-1)]++
		}
		return c
	}
	cn, ch := count(f.NSVM.samples), count(f.Native.samples)
	top := 1
	for i := range cn {
		top = max(top, cn[i], ch[i])
	}
	// Whole-sample ticks: a step of 1, 2 or 5 times a power of ten.
	step := math.Max(1, niceMax(float64(top)/4))
	ymax := step * math.Ceil(float64(top)/step)
	for v := 0.0; v <= ymax; v += step {
		yy := float64(plotH-padB) - float64(plotH-padB-padT)*v/ymax
		fmt.Fprintf(w, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", padL, yy, plotW-padR, yy)
		fmt.Fprintf(w, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", padL-4, yy+4, v)
	}
	for _, v := range ticks125(lo, hi) {
		xx := x.at(v)
		fmt.Fprintf(w, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#eee\"/>\n", xx, padT, xx, plotH-padB)
		fmt.Fprintf(w, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", xx, plotH-padB+16, usLabel(v))
	}
	bw := float64(plotW-padR-padL) / bins
	for i := 0; i < bins; i++ {
		xx := float64(padL) + bw*float64(i)
		for j, c := range []struct {
			n     int
			color string
		}{{ch[i], sides[1].color}, {cn[i], sides[0].color}} {
			if c.n == 0 {
				continue
			}
			h := float64(plotH-padB-padT) * float64(c.n) / ymax
			fmt.Fprintf(w, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" fill-opacity=\"0.7\"/>\n",
				xx+float64(j)*bw/2, float64(plotH-padB)-h, bw/2, h, c.color)
		}
	}
	// Each side's median, a vertical line, labelled on the side with
	// room.
	for _, s := range sides {
		if m := s.get(f).Median / 1000; m > 0 {
			xx := x.at(m)
			fmt.Fprintf(w, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" stroke-dasharray=\"4 3\"/>\n", xx, padT, xx, plotH-padB, s.color)
			tx, anchor := xx+3, "start"
			if xx > plotW-padR-100 {
				tx, anchor = xx-3, "end"
			}
			fmt.Fprintf(w, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"%s\" fill=\"%s\">median %s</text>\n", tx, padT+10, anchor, s.color, us(m*1000))
		}
	}
	legend(w)
	fmt.Fprintln(w, "</svg>")
}
