package bench

// The fork benchmark suite behind `nsvm bench fork`: the same static
// guest program (guest/fork_suite.c) runs natively and under nsvm, in the
// same run, for latency per call kind, a resident-memory sweep, an FPU
// state sweep, pinned and unpinned; plus nsvm's cost breakdown from VMM
// counters and a platform line. Results come out as a table, Go benchmark
// lines (for benchstat), JSON and SVG plots.

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	x86 "github.com/nsvm/nsvm/arch/x86_64"
	"github.com/nsvm/nsvm/guestkernel"
	"github.com/nsvm/nsvm/vm"
)

//go:embed guest/fork_suite.c
var forkSuiteC []byte

// Options select what RunSuite measures.
type Options struct {
	Quick    bool      // seconds, for CI: fewer samples and sweep points
	Log      io.Writer // progress (a bar when it is a terminal)
	WorkDir  string    // where to build the guest program
	Samples  int       // per measurement (0: 30 quick, 200 full)
	MemLimit uint64    // guest memory for the sweeps
}

// Stats summarises samples in ns. Percentiles are by nearest rank. A
// percentile p is given only when there are enough samples for it to be
// other than the maximum, N*(1-p) >= 1: p90 needs at least 10 samples
// and p99 at least 100 (MinSamplesP90, MinSamplesP99); otherwise it is 0
// (left out of the JSON, "-" in the table).
type Stats struct {
	N           int
	Min, Median float64
	P90         float64 `json:",omitempty"`
	P99         float64 `json:",omitempty"`
	Max         float64
	samples     []float64
}

// The fewest samples that have a p90 and a p99.
const (
	MinSamplesP90 = 10
	MinSamplesP99 = 100
)

func summarize(s []float64) Stats {
	if len(s) == 0 {
		return Stats{}
	}
	c := append([]float64(nil), s...)
	sort.Float64s(c)
	st := Stats{N: len(c), Min: c[0], Median: quantile(c, 0.5), Max: c[len(c)-1], samples: c}
	if st.N >= MinSamplesP90 {
		st.P90 = quantile(c, 0.9)
	}
	if st.N >= MinSamplesP99 {
		st.P99 = quantile(c, 0.99)
	}
	return st
}

// quantile is the p-quantile of sorted samples by nearest rank: the
// smallest sample with at least a fraction p of them at or below it.
func quantile(sorted []float64, p float64) float64 {
	i := int(math.Ceil(p*float64(len(sorted))-1e-9)) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// Pair is one measurement on both sides.
type Pair struct {
	Name   string
	MiB    int `json:",omitempty"` // the memory sweep: MiB touched by the parent
	NSVM   Stats
	Native Stats
}

// Ratio is nsvm's median over the host's.
func (p Pair) Ratio() float64 { return p.NSVM.Median / p.Native.Median }

// Breakdown splits nsvm's fork cycle, from VMM counters.
type Breakdown struct {
	ExitsPerFork   float64
	InKVMRun, InGo float64 // ns per fork
	XSAVE, MMCopy  float64 // ns per fork, parts of InGo
	PagesCopied    float64
	COWFaults      float64
	ShootdownPages float64
	Sum, Median    float64 // InKVMRun+InGo vs the measured median
	SumOverMedian  float64
	// Mean is the samples' mean: the breakdown is a mean over the same
	// cycles, so SumOverMean is an accounting identity (about 1 whatever
	// the noise), where SumOverMedian moves with outliers.
	Mean, SumOverMean float64
	ExitFloorNS       float64 // a bare CPL3 exit, same run
	MedianOverFloor   float64
}

// Platform is the line every report starts with.
type Platform struct {
	KVM       string
	CPU       string
	XSAVESize int
	Kernel    string
	Go        string
	CPUs      int
}

// Results is everything RunSuite measured.
type Results struct {
	Platform   Platform
	Latency    []Pair // per call kind, unpinned
	Pinned     []Pair // fork, pinned to one CPU
	Memory     []Pair // fork with N MiB touched
	FPU        []Pair // fork with the guest's vector state capped
	Throughput []Pair // forks per second with 1..CPUs parallel forkers
	Breakdown  Breakdown
	Seconds    float64
}

type runner struct {
	opt       Options
	lastClock float64
	bin       string
	tty       bool
}

// step is one measurement of the suite, named for the progress line.
type step struct {
	name string
	run  func() error
}

// progress reports that step done of steps (named what) is finished: a
// bar redrawn in place on a terminal, a line each otherwise. The last
// step's bar stays, full, on its own line.
func (r *runner) progress(done, steps int, what string) {
	if r.opt.Log == nil {
		return
	}
	if r.tty {
		const w = 30
		d := done * w / steps
		fmt.Fprintf(r.opt.Log, "\r\033[K[%s%s] %d/%d %s", strings.Repeat("#", d), strings.Repeat(".", w-d), done, steps, what)
		if done == steps {
			fmt.Fprintln(r.opt.Log)
		}
		return
	}
	fmt.Fprintf(r.opt.Log, "%d/%d %s\n", done, steps, what)
}

// parseSamples reads fork_suite's output.
func parseSamples(out string) ([]float64, error) {
	for _, l := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(l, "samples"); ok {
			var s []float64
			for _, f := range strings.Fields(rest) {
				v, err := strconv.ParseFloat(f, 64)
				if err != nil {
					return nil, err
				}
				s = append(s, v)
			}
			return s, nil
		}
	}
	return nil, fmt.Errorf("no samples in %q", out)
}

// native runs the suite program on the host, pinned to cpu when >= 0.
func (r *runner) native(cpu int, args ...string) ([]float64, error) {
	if cpu >= 0 {
		// The child inherits the affinity of the thread that forks it.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var set, old unix.CPUSet
		unix.SchedGetaffinity(0, &old)
		set.Set(cpu)
		unix.SchedSetaffinity(0, &set)
		defer unix.SchedSetaffinity(0, &old)
	}
	out, err := exec.Command(r.bin, args...).Output()
	if err != nil {
		return nil, fmt.Errorf("native %v: %w", args, err)
	}
	return parseSamples(string(out))
}

// guest runs it under nsvm and returns the samples and the kernel.
func (r *runner) guest(cpu int, xcr0 uint64, args ...string) ([]float64, *guestkernel.Kernel, error) {
	img, err := os.ReadFile(r.bin)
	if err != nil {
		return nil, nil, err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	defer pr.Close()
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, nil, err
	}
	defer null.Close()
	cfg := guestkernel.Config{Image: img, Path: r.bin, ExePath: r.bin, Args: append([]string{r.bin}, args...),
		Env: []string{"PATH=/bin"}, Stdin: int(null.Fd()), Stdout: int(pw.Fd()), Stderr: int(null.Fd()), Log: io.Discard,
		XCR0Limit: xcr0, MarkForks: true}
	opt := guestkernel.RunOptions{Mem: r.opt.MemLimit, Timeout: 10 * time.Minute}
	if cpu >= 0 {
		opt.PinCPU = &cpu
	}
	outc := make(chan []byte)
	go func() { b, _ := io.ReadAll(pr); outc <- b }()
	st, k, err := guestkernel.RunProgram(cfg, opt)
	pw.Close()
	out := <-outc
	if err != nil || st.ShellCode() != 0 {
		return nil, nil, fmt.Errorf("nsvm %v: status %d, %v", args, st.ShellCode(), err)
	}
	s, err := parseSamples(string(out))
	r.lastClock = parseClock(string(out))
	return s, k, err
}

// parseClock reads the clock cost the program measured.
func parseClock(out string) float64 {
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, "clock "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f
		}
	}
	return 0
}

// RunSuite builds the guest program and measures.
func RunSuite(opt Options) (*Results, error) {
	start := time.Now()
	if opt.Samples == 0 {
		opt.Samples = 200
		if opt.Quick {
			opt.Samples = 30
		}
	}
	if opt.MemLimit == 0 {
		opt.MemLimit = 3 << 30
		if opt.Quick {
			opt.MemLimit = 512 << 20
		}
	}
	src := filepath.Join(opt.WorkDir, "fork_suite.c")
	bin := filepath.Join(opt.WorkDir, "fork_suite")
	if err := os.WriteFile(src, forkSuiteC, 0o644); err != nil {
		return nil, err
	}
	if out, err := exec.Command("gcc", "-static", "-O1", "-o", bin, src).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the guest program (gcc -static): %v\n%s", err, out)
	}
	r := &runner{opt: opt, bin: bin}
	if f, ok := opt.Log.(*os.File); ok {
		_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
		r.tty = err == nil
	}
	ops := []string{"fork", "vfork", "clone", "clone3", "clone-newuts", "clone-newipc", "clone-newpid",
		"clone-newnet", "clone-newns", "clone-newcgroup", "clone-newuser"}
	memMiB := []int{0, 1, 64, 256, 1024}
	if opt.Quick {
		ops = []string{"fork", "vfork", "clone3", "clone-newpid"}
		memMiB = []int{0, 1, 64}
	}
	fpus := []struct {
		name string
		xcr0 uint64
	}{{"sse", x86.XFeatureX87 | x86.XFeatureSSE}, {"avx", x86.XFeatureX87 | x86.XFeatureSSE | x86.XFeatureAVX}, {"avx512", x86.XFeaturesUser}}
	res := &Results{Platform: platform()}
	n := strconv.Itoa(opt.Samples)

	// pair measures one case on both sides.
	pair := func(name string, cpu int, xcr0 uint64, args ...string) (Pair, *guestkernel.Kernel, error) {
		ns, err := r.native(cpu, args...)
		if err != nil {
			return Pair{}, nil, err
		}
		gs, k, err := r.guest(cpu, xcr0, args...)
		if err != nil {
			return Pair{}, nil, err
		}
		return Pair{Name: name, NSVM: summarize(gs), Native: summarize(ns)}, k, nil
	}
	// measure is a step that adds pair's result to a list.
	measure := func(list *[]Pair, name string, cpu int, xcr0 uint64, args ...string) step {
		return step{name, func() error {
			p, _, err := pair(name, cpu, xcr0, args...)
			*list = append(*list, p)
			return err
		}}
	}
	var steps []step
	var forkKernel *guestkernel.Kernel
	var forkClock, floor float64
	for _, op := range ops {
		steps = append(steps, step{op, func() error {
			p, k, err := pair(op, -1, 0, op, n)
			if op == "fork" {
				forkKernel, forkClock = k, r.lastClock
			}
			res.Latency = append(res.Latency, p)
			return err
		}})
	}
	steps = append(steps, measure(&res.Pinned, "fork pinned to CPU 0", 0, 0, "fork", n))
	for _, mib := range memMiB {
		samples := n
		if mib >= 256 {
			samples = strconv.Itoa(max(opt.Samples/10, 10)) // big forks are slow
		}
		name := fmt.Sprintf("fork %d MiB touched", mib)
		steps = append(steps, step{name, func() error {
			p, _, err := pair(name, -1, 0, "fork", samples, strconv.Itoa(mib*256))
			p.MiB = mib
			res.Memory = append(res.Memory, p)
			return err
		}})
	}
	for _, f := range fpus {
		steps = append(steps, measure(&res.FPU, "fork "+f.name, -1, f.xcr0, "fork", n))
	}
	// Throughput: 1..CPUs parallel forkers on both sides (nsvm's
	// forkers share its one vCPU). Forks per second.
	for p := 1; p <= runtime.NumCPU(); p++ {
		name := fmt.Sprintf("%d forker(s)", p)
		steps = append(steps, step{name, func() error {
			x, _, err := pair(name, -1, 0, "parallel", strconv.Itoa(p), strconv.Itoa(max(opt.Samples/p, 10)))
			if err != nil {
				return err
			}
			x.NSVM = Stats{N: 1, Median: 1e9 / x.NSVM.Median}
			x.Native = Stats{N: 1, Median: 1e9 / x.Native.Median}
			res.Throughput = append(res.Throughput, x)
			return nil
		}})
	}
	steps = append(steps, step{"exit floor", func() error {
		var err error
		floor, err = r.exitFloor()
		return err
	}})
	for i, s := range steps {
		if err := s.run(); err != nil {
			return nil, err
		}
		r.progress(i+1, len(steps), s.name)
	}
	if forkKernel != nil {
		res.Breakdown = breakdown(forkKernel, res.Latency[0].NSVM.Median, floor, forkClock)
		res.Breakdown.Mean = mean(res.Latency[0].NSVM.samples)
		if res.Breakdown.Mean > 0 {
			res.Breakdown.SumOverMean = res.Breakdown.Sum / res.Breakdown.Mean
		}
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// mean is the arithmetic mean of xs, 0 for none.
func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	var t float64
	for _, x := range xs {
		t += x
	}
	return t / float64(len(xs))
}

// breakdown splits the timed loop of the fork run: the counters at the
// first timed fork (marks[1]; marks[0] is the warm-up) and at the last
// one, over the cycles in between. Each cycle also reads the clock once
// (clk, a syscall exit here), which the samples subtract; so does this.
func breakdown(k *guestkernel.Kernel, median, floor, clk float64) Breakdown {
	m := k.ForkMarks
	if len(m) < 3 {
		return Breakdown{}
	}
	a, z := m[1], m[len(m)-1]
	f := float64(len(m) - 2)
	b := Breakdown{
		ExitsPerFork:   float64(z.Exits-a.Exits) / f,
		InKVMRun:       float64((z.InGuest - a.InGuest).Nanoseconds()) / f,
		InGo:           float64((z.InHandle - a.InHandle).Nanoseconds()) / f,
		XSAVE:          float64((z.XSAVETime - a.XSAVETime).Nanoseconds()) / f,
		MMCopy:         float64((z.ForkCopyTime - a.ForkCopyTime).Nanoseconds()) / f,
		PagesCopied:    float64(z.PagesCopied-a.PagesCopied) / f,
		ShootdownPages: float64(z.ShootdownPages-a.ShootdownPages) / f,
		COWFaults:      float64(z.COWFaults-a.COWFaults) / f,
		Median:         median,
		ExitFloorNS:    floor,
	}
	b.Sum = b.InKVMRun + b.InGo - clk
	b.SumOverMedian = b.Sum / median
	if floor <= 0 {
		b.ExitFloorNS = 0
	}
	if floor > 0 {
		b.MedianOverFloor = median / floor
	}
	return b
}

// exitFloor measures a bare CPL3 exit in the same run.
func (r *runner) exitFloor() (float64, error) {
	src := filepath.Join(r.opt.WorkDir, "syscall_loop.c")
	bin := filepath.Join(r.opt.WorkDir, "syscall_loop")
	if err := os.WriteFile(src, syscallLoopC, 0o644); err != nil {
		return 0, err
	}
	if out, err := exec.Command("gcc", "-static", "-O1", "-o", bin, src).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("gcc: %v\n%s", err, out)
	}
	img, err := os.ReadFile(bin)
	if err != nil {
		return 0, err
	}
	run := func(n string) (time.Duration, error) {
		null, _ := os.OpenFile(os.DevNull, os.O_RDWR, 0)
		defer null.Close()
		cfg := guestkernel.Config{Image: img, Path: bin, ExePath: bin, Args: []string{bin, n, "out"},
			Stdin: int(null.Fd()), Stdout: int(null.Fd()), Stderr: int(null.Fd()), Bench: true, Log: io.Discard}
		t0 := time.Now()
		_, _, err := guestkernel.RunProgram(cfg, guestkernel.RunOptions{})
		return time.Since(t0), err
	}
	d0, err := run("0")
	if err != nil {
		return 0, err
	}
	const n = 2000
	d, err := run(strconv.Itoa(n))
	if err != nil {
		return 0, err
	}
	return float64(d-d0) / n, nil
}

//go:embed testdata/syscall_loop.c
var syscallLoopC []byte

func platform() Platform {
	p := Platform{Go: runtime.Version(), CPUs: runtime.NumCPU()}
	if k, err := vm.Open(); err == nil {
		p.KVM = string(k.Caps.Platform)
		p.XSAVESize = k.Caps.XSAVE2Size
		k.Close()
	}
	var u unix.Utsname
	unix.Uname(&u)
	p.Kernel = strings.TrimRight(string(u.Release[:]), "\x00")
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				p.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	return p
}

// us formats ns as µs.
func us(ns float64) string { return fmt.Sprintf("%.1fµs", ns/1000) }

// WriteTable prints the human-readable report. A section shows the p90
// and p99 columns only when one of its rows has enough samples for them
// (see Stats); a row without enough shows "-" there.
func (r *Results) WriteTable(w io.Writer) {
	p := r.Platform
	fmt.Fprintf(w, "platform: %s KVM, %s, %d CPUs, XSAVE %d bytes, Linux %s, %s\n", p.KVM, p.CPU, p.CPUs, p.XSAVESize, p.Kernel, p.Go)
	fmt.Fprintf(w, "latencies in µs; p90 needs >= %d samples, p99 >= %d (\"-\": fewer)\n\n", MinSamplesP90, MinSamplesP99)
	section := func(title string, ps []Pair) {
		if len(ps) == 0 {
			return
		}
		var has90, has99 bool
		for _, x := range ps {
			has90 = has90 || x.NSVM.P90 != 0
			has99 = has99 || x.NSVM.P99 != 0 || x.Native.P99 != 0
		}
		pct := func(v float64) string {
			if v == 0 {
				return "-"
			}
			return us(v)
		}
		type col struct {
			head string
			get  func(Pair) string
			show bool
		}
		cols := []col{
			{"n", func(x Pair) string { return fmt.Sprint(x.NSVM.N) }, true},
			{"min", func(x Pair) string { return us(x.NSVM.Min) }, true},
			{"median", func(x Pair) string { return us(x.NSVM.Median) }, true},
			{"p90", func(x Pair) string { return pct(x.NSVM.P90) }, has90},
			{"p99", func(x Pair) string { return pct(x.NSVM.P99) }, has99},
			{"max", func(x Pair) string { return us(x.NSVM.Max) }, true},
			{"   host med", func(x Pair) string { return us(x.Native.Median) }, true},
			{"host p99", func(x Pair) string { return pct(x.Native.P99) }, has99},
			{"x-host", func(x Pair) string { return fmt.Sprintf("%.2f", x.Ratio()) }, true},
		}
		// The host's columns start after a wider gap.
		cell := func(head, v string) string {
			if strings.HasPrefix(head, "   ") {
				return fmt.Sprintf("    %10s", v)
			}
			return fmt.Sprintf(" %10s", v)
		}
		fmt.Fprintf(w, "%s\n%-24s", title, "")
		for _, c := range cols {
			if c.show {
				fmt.Fprint(w, cell(c.head, strings.TrimSpace(c.head)))
			}
		}
		fmt.Fprintln(w)
		for _, x := range ps {
			fmt.Fprintf(w, "%-24s", x.Name)
			for _, c := range cols {
				if c.show {
					fmt.Fprint(w, cell(c.head, c.get(x)))
				}
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w)
	}
	section("latency: call + _exit + waitpid (nsvm, then the host)", r.Latency)
	section("pinned", r.Pinned)
	section("parent resident memory", r.Memory)
	section("guest FPU state (host unchanged)", r.FPU)
	if len(r.Throughput) > 0 {
		fmt.Fprintf(w, "throughput (forks/s)\n")
		for _, t := range r.Throughput {
			fmt.Fprintf(w, "  %-22s nsvm %8.0f   host %8.0f   (%.2f)\n", t.Name, t.NSVM.Median, t.Native.Median, t.NSVM.Median/t.Native.Median)
		}
		fmt.Fprintln(w)
	}
	b := r.Breakdown
	fmt.Fprintf(w, "breakdown of nsvm's fork cycle (per fork, VMM counters):\n")
	fmt.Fprintf(w, "  %.1f exits; inside KVM_RUN %s; Go handlers %s (XSAVE ioctls %s, dup_mm %s for %.0f pages copied); %.1f COW faults; %.1f page-table pages shot down\n",
		b.ExitsPerFork, us(b.InKVMRun), us(b.InGo), us(b.XSAVE), us(b.MMCopy), b.PagesCopied, b.COWFaults, b.ShootdownPages)
	floor := fmt.Sprintf("bare exit floor %s (median = %.1f floors)", us(b.ExitFloorNS), b.MedianOverFloor)
	if b.ExitFloorNS <= 0 {
		// An emulator that refuses the user-mode out (test/svm) makes
		// the loop end at once.
		floor = "bare exit floor not measured (the out loop did not run)"
	}
	fmt.Fprintf(w, "  parts (minus the clock reading) sum to %s = %.2f x the median %s (%.2f x the mean %s); %s\n",
		us(b.Sum), b.SumOverMedian, us(b.Median), b.SumOverMean, us(b.Mean), floor)
	fmt.Fprintf(w, "\n%.1f s in all\n", r.Seconds)
}

// WriteBenchstat writes Go benchmark lines, one per measurement and side.
func (r *Results) WriteBenchstat(w io.Writer) {
	fmt.Fprintf(w, "goos: linux\ngoarch: amd64\npkg: github.com/nsvm/nsvm/bench\ncpu: %s\n", r.Platform.CPU)
	name := func(s string) string { return strings.NewReplacer(" ", "_", "/", "_").Replace(s) }
	for _, group := range [][]Pair{r.Latency, r.Pinned, r.Memory, r.FPU} {
		for _, p := range group {
			fmt.Fprintf(w, "BenchmarkFork/%s/side=nsvm 1 %.0f ns/op\n", name(p.Name), p.NSVM.Median)
			fmt.Fprintf(w, "BenchmarkFork/%s/side=host 1 %.0f ns/op\n", name(p.Name), p.Native.Median)
		}
	}
}

// WriteJSON writes the results.
func (r *Results) WriteJSON(w io.Writer) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(r)
}
