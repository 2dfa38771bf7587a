package bench

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// fakeResults are results shaped like our machines' figures (PVM, see
// README.md), with samples drawn from a fixed seed.
func fakeResults(samples int) *Results {
	rng := rand.New(rand.NewSource(1))
	draw := func(medianUS float64, n int) Stats {
		s := make([]float64, n)
		for i := range s {
			s[i] = medianUS * 1000 * math.Exp(0.15*rng.NormFloat64())
		}
		return summarize(s)
	}
	pair := func(name string, mib int, nsvm, host float64, n int) Pair {
		return Pair{Name: name, MiB: mib, NSVM: draw(nsvm, n), Native: draw(host, n)}
	}
	r := &Results{Platform: Platform{KVM: "PVM", CPU: "test CPU", CPUs: 2, XSAVESize: 4096, Kernel: "6.1", Go: "go"}}
	r.Latency = []Pair{pair("fork", 0, 702, 64, samples), pair("vfork", 0, 324, 73, samples)}
	r.Pinned = []Pair{pair("fork pinned to CPU 0", 0, 695, 43, samples)}
	for _, m := range []struct {
		mib        int
		nsvm, host float64
	}{{0, 700, 60}, {1, 720, 90}, {64, 2160, 1320}, {256, 3780, 3410}, {1024, 10000, 16700}} {
		n := samples
		if m.mib >= 256 {
			n = max(samples/10, 10)
		}
		r.Memory = append(r.Memory, pair("fork "+mibLabel(m.mib)+" touched", m.mib, m.nsvm, m.host, n))
	}
	r.Memory[0].Name, r.Memory[0].MiB = "fork 0 MiB touched", 0
	return r
}

// svgText checks that an SVG is well-formed and returns its text.
func svgText(t *testing.T, data []byte) string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(data))
	var text []string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v", err)
		}
		if c, ok := tok.(xml.CharData); ok {
			text = append(text, strings.TrimSpace(string(c)))
		}
	}
	return strings.Join(text, "\n")
}

// TestPlots: both plots are well-formed, label latency in µs, and put
// memory (and latency) on log scales: 1, 4, 16 ... MiB ticks evenly
// spaced, 0 MiB apart. NSVM_PLOTS=DIR keeps them to look at.
func TestPlots(t *testing.T) {
	r := fakeResults(200)
	var mem, hist bytes.Buffer
	r.WriteMemoryPlot(&mem)
	r.WriteHistogram(&hist)
	if dir := os.Getenv("NSVM_PLOTS"); dir != "" {
		os.WriteFile(filepath.Join(dir, "memory.svg"), mem.Bytes(), 0o644)
		os.WriteFile(filepath.Join(dir, "histogram.svg"), hist.Bytes(), 0o644)
	}
	mt, ht := svgText(t, mem.Bytes()), svgText(t, hist.Bytes())
	for _, want := range []string{"median latency (µs, log scale)", "parent memory touched (log scale)", "1 MiB", "4 MiB", "256 MiB", "1 GiB", "0"} {
		if !strings.Contains(mt, want) {
			t.Errorf("memory plot lacks %q", want)
		}
	}
	for _, want := range []string{"latency (µs, log scale)", "samples", "median 7"} {
		if !strings.Contains(ht, want) {
			t.Errorf("histogram lacks %q", want)
		}
	}
	if strings.Contains(mt+ht, "(us)") || strings.Contains(mt+ht, "(ms)") {
		t.Error("a plot uses a unit other than µs")
	}
	// The memory ticks: equal steps per factor of 4.
	var xs []float64
	for _, l := range []string{"1 MiB", "4 MiB", "16 MiB", "64 MiB", "256 MiB", "1 GiB"} {
		m := regexp.MustCompile(`<text x="([0-9.]+)" y="[0-9]+" text-anchor="middle">` + l + `</text>`).FindStringSubmatch(mem.String())
		if m == nil {
			t.Fatalf("no tick %q", l)
		}
		var x float64
		if _, err := fmt.Sscan(m[1], &x); err != nil {
			t.Fatal(err)
		}
		xs = append(xs, x)
	}
	for i := 2; i < len(xs); i++ {
		if d, d0 := xs[i]-xs[i-1], xs[1]-xs[0]; math.Abs(d-d0) > 0.2 {
			t.Errorf("memory ticks not log-spaced: %v", xs)
			break
		}
	}
}

// TestTablePercentiles: p99 appears only for rows with at least
// MinSamplesP99 samples, p90 for MinSamplesP90; a section where no row
// has one shows no such column; the table says so, in µs.
func TestTablePercentiles(t *testing.T) {
	for _, tc := range []struct {
		samples       int
		latencyHasP99 bool // the latency section has p99 columns
		memoryRowDash bool // the memory sweep's big rows (fewer samples) show "-"
	}{
		{samples: 200, latencyHasP99: true, memoryRowDash: true},
		{samples: 30, latencyHasP99: false},
	} {
		r := fakeResults(tc.samples)
		var b bytes.Buffer
		r.WriteTable(&b)
		out := b.String()
		if !strings.Contains(out, "p99 >= 100") || !strings.Contains(out, "µs") || regexp.MustCompile(`\dus\b`).MatchString(out) {
			t.Errorf("%d samples: the table does not state the threshold or the unit:\n%s", tc.samples, out)
		}
		sections := strings.Split(out, "\n\n")
		var latency, memory string
		for _, s := range sections {
			switch {
			case strings.HasPrefix(s, "latency:"):
				latency = s
			case strings.HasPrefix(s, "parent resident memory"):
				memory = s
			}
		}
		head := strings.Split(latency, "\n")[1]
		if strings.Contains(head, "p99") != tc.latencyHasP99 {
			t.Errorf("%d samples: latency header %q, p99 column wanted: %v", tc.samples, head, tc.latencyHasP99)
		}
		for _, l := range strings.Split(memory, "\n")[2:] {
			big := strings.Contains(l, "256 MiB") || strings.Contains(l, "1 GiB")
			if dash := strings.Contains(l, " - "); dash != (big && tc.memoryRowDash) {
				t.Errorf("%d samples: memory row %q: a '-' for a missing p99 wanted: %v", tc.samples, l, big && tc.memoryRowDash)
			}
		}
	}
	if s := summarize(ones(99)); s.P99 != 0 || s.P90 != 90 {
		t.Errorf("1..99: p90 %g p99 %g, want 90 and none", s.P90, s.P99)
	}
	if s := summarize(ones(9)); s.P90 != 0 || s.Median != 5 {
		t.Errorf("1..9: p90 %g median %g, want none and 5", s.P90, s.Median)
	}
	if s := summarize(ones(100)); s.P99 != 99 || s.P90 != 90 || s.Max != 100 {
		t.Errorf("1..100: p90 %g p99 %g max %g", s.P90, s.P99, s.Max)
	}
}

// ones is 1..n.
func ones(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = float64(i + 1)
	}
	return s
}

// TestProgressReachesLastStep: the progress line counts up to the last
// step, on a terminal (a bar left full) and off one (a line a step).
func TestProgressReachesLastStep(t *testing.T) {
	for _, tty := range []bool{false, true} {
		var b bytes.Buffer
		r := &runner{opt: Options{Log: &b}, tty: tty}
		names := []string{"fork", "vfork", "exit floor"}
		for i, n := range names {
			r.progress(i+1, len(names), n)
		}
		out := b.String()
		if !strings.HasSuffix(out, "3/3 exit floor\n") {
			t.Errorf("tty %v: progress ends %q, want 3/3 and the last step's name", tty, out)
		}
		if tty && !strings.Contains(out, "[##############################] 3/3") {
			t.Errorf("tty: the last bar is not full: %q", out)
		}
	}
}
