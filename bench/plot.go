package bench

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// Two plots in plain SVG (no plotting library needed): fork latency
// against the parent's resident memory, nsvm and the host; and the
// distribution of fork latencies on both sides.

const (
	plotW, plotH = 640, 400
	padL, padB   = 70, 50
	padT, padR   = 30, 20
)

func svgHeader(w io.Writer, title string) {
	fmt.Fprintf(w, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"11\">\n", plotW, plotH)
	fmt.Fprintf(w, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", plotW, plotH)
	fmt.Fprintf(w, "<text x=\"%d\" y=\"18\" font-size=\"13\" font-weight=\"bold\">%s</text>\n", padL, title)
}

func axes(w io.Writer, xlabel, ylabel string) {
	x0, y0 := padL, plotH-padB
	fmt.Fprintf(w, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", x0, y0, plotW-padR, y0)
	fmt.Fprintf(w, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", x0, y0, x0, padT)
	fmt.Fprintf(w, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", (x0+plotW-padR)/2, plotH-12, xlabel)
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

func yTicks(w io.Writer, ymax float64, unit string) {
	for i := 0; i <= 4; i++ {
		v := ymax * float64(i) / 4
		y := float64(plotH-padB) - float64(plotH-padB-padT)*float64(i)/4
		fmt.Fprintf(w, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", padL, y, plotW-padR, y)
		fmt.Fprintf(w, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g%s</text>\n", padL-4, y+4, v, unit)
	}
}

// WriteMemoryPlot draws median fork latency (ms) against touched memory.
func (r *Results) WriteMemoryPlot(w io.Writer) {
	svgHeader(w, fmt.Sprintf("fork+exit+wait vs parent resident memory (%s KVM)", r.Platform.KVM))
	axes(w, "parent memory touched", "median latency (ms)")
	ymax := 0.0
	for _, p := range r.Memory {
		ymax = math.Max(ymax, math.Max(p.NSVM.Median, p.Native.Median)/1e6)
	}
	ymax = niceMax(ymax)
	yTicks(w, ymax, "")
	n := len(r.Memory)
	x := func(i int) float64 {
		if n == 1 {
			return float64(padL+plotW-padR) / 2
		}
		return float64(padL+20) + float64(plotW-padR-padL-40)*float64(i)/float64(n-1)
	}
	y := func(ns float64) float64 {
		return float64(plotH-padB) - float64(plotH-padB-padT)*(ns/1e6)/ymax
	}
	for i, p := range r.Memory {
		label := strings.TrimSuffix(strings.TrimPrefix(p.Name, "fork "), " touched")
		fmt.Fprintf(w, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", x(i), plotH-padB+16, label)
	}
	for _, side := range []struct {
		name, color string
		get         func(Pair) float64
	}{{"nsvm", "#d62728", func(p Pair) float64 { return p.NSVM.Median }}, {"host", "#1f77b4", func(p Pair) float64 { return p.Native.Median }}} {
		var pts []string
		for i, p := range r.Memory {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(side.get(p))))
			fmt.Fprintf(w, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", x(i), y(side.get(p)), side.color)
		}
		fmt.Fprintf(w, "<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"/>\n", strings.Join(pts, " "), side.color)
	}
	legend(w)
	fmt.Fprintln(w, "</svg>")
}

func legend(w io.Writer) {
	fmt.Fprintf(w, "<rect x=\"%d\" y=\"34\" width=\"12\" height=\"4\" fill=\"#d62728\"/><text x=\"%d\" y=\"40\">nsvm</text>\n", plotW-120, plotW-104)
	fmt.Fprintf(w, "<rect x=\"%d\" y=\"50\" width=\"12\" height=\"4\" fill=\"#1f77b4\"/><text x=\"%d\" y=\"56\">host</text>\n", plotW-120, plotW-104)
}

// WriteHistogram draws the distribution of fork latencies, both sides,
// on a shared linear axis.
func (r *Results) WriteHistogram(w io.Writer) {
	svgHeader(w, fmt.Sprintf("fork+exit+wait latency distribution (%s KVM)", r.Platform.KVM))
	axes(w, "latency (us)", "samples")
	if len(r.Latency) == 0 {
		fmt.Fprintln(w, "</svg>")
		return
	}
	f := r.Latency[0]
	hi := niceMax(math.Max(f.NSVM.P99, f.Native.P99) / 1000)
	const bins = 40
	count := func(s []float64) []int {
		c := make([]int, bins)
		for _, v := range s {
			b := int(v / 1000 / hi * bins)
			c[min(max(b, 0), bins-1)]++
		}
		return c
	}
	cn, ch := count(f.NSVM.samples), count(f.Native.samples)
	top := 1
	for i := range cn {
		top = max(top, cn[i], ch[i])
	}
	ymax := niceMax(float64(top))
	yTicks(w, ymax, "")
	bw := float64(plotW-padR-padL) / bins
	for i := 0; i < bins; i++ {
		x := float64(padL) + bw*float64(i)
		for j, c := range []struct {
			n     int
			color string
		}{{ch[i], "#1f77b4"}, {cn[i], "#d62728"}} {
			h := float64(plotH-padB-padT) * float64(c.n) / ymax
			fmt.Fprintf(w, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" fill-opacity=\"0.6\"/>\n",
				x+float64(j)*bw/2, float64(plotH-padB)-h, bw/2, h, c.color)
		}
	}
	for i := 0; i <= 4; i++ {
		x := float64(padL) + float64(plotW-padR-padL)*float64(i)/4
		fmt.Fprintf(w, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n", x, plotH-padB+16, hi*float64(i)/4)
	}
	legend(w)
	fmt.Fprintln(w, "</svg>")
}
