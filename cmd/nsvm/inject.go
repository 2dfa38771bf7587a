package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsvm/nsvm/fault"
	"github.com/nsvm/nsvm/guestkernel"
	"github.com/nsvm/nsvm/guestkernel/loader"
	"github.com/nsvm/nsvm/vm"
)

// Sweep is the result of `nsvm inject`.
type Sweep struct {
	Program     string                 `json:"program"`
	Syscall     string                 `json:"syscall"`
	Occurrence  int                    `json:"occurrence"`
	Mode        string                 `json:"mode"` // "fail-nth" or "random"
	Seed        uint64                 `json:"seed,omitempty"`
	Probability uint64                 `json:"probability,omitempty"`
	Rows        []guestkernel.SweepRow `json:"rows"`
	Runs        int                    `json:"runs"`
	Seconds     float64                `json:"seconds"`
	RunsPerSec  float64                `json:"runs_per_second"`
	Leaks       int                    `json:"runs_with_leaks"`
}

const injectHelp = `usage: nsvm inject [flags] PROG [ARGS...]

Fault-injection sweep: run PROG once per fail-nth = 1, 2, ... armed on
the K-th call of one system call (--syscall NAME:K), each time in a fresh
micro-VM, until the call no longer fails; print one row per run (the
site, its copy_process step, the errno the guest saw, the outcome, the
auditor's verdict). With --prob, a random campaign instead. The guest's
stdin, stdout and stderr are /dev/null.

exit status: 0 when no run leaked, 1 when the auditor found a leak, 125
for a usage error or when nsvm itself failed, 126 when PROG cannot be
executed, 127 when PROG does not exist.
`

// cmdInject runs fault-injection sweeps: systematic (fail-nth = 1, 2, ...
// on one call until it no longer fails) or a random campaign.
func cmdInject(argv []string, stdout, stderr io.Writer) int {
	fs := newFlags("nsvm inject", injectHelp)
	call := syscallFlag{name: "clone", occ: 1}
	fs.Var(&call, "syscall", "the call to inject into: `NAME[:K]`, its K-th occurrence (all tasks)")
	format := choiceFlag{value: "table", choices: []string{"table", "json"}}
	fs.Var(&format, "format", "output `FORMAT`: table or json")
	site := fs.String("site", "", "inject only at this site (others do not count)")
	maxN := fs.Int("max", 200, "give up a systematic sweep after this many runs")
	var prob percentFlag
	fs.Var(&prob, "prob", "random campaign: failure probability in `PERCENT` (0-100) at every site")
	seed := fs.Uint64("seed", 1, "random campaign: first seed (run i uses seed+i)")
	runs := fs.Int("runs", 20, "random campaign: number of runs")
	timeout := timeoutFlag(30 * time.Second)
	fs.Var(&timeout, "timeout", "per-run timeout, a `DURATION` (0 = no limit)")
	mem := sizeFlag(guestkernel.DefaultMem)
	fs.Var(&mem, "mem", "guest memory `SIZE`")
	if st, ok := fs.parse(argv, stdout, stderr); !ok {
		return st
	}
	switch {
	case *maxN < 1:
		return usageError(stderr, fs.cmd, "--max must be at least 1")
	case *runs < 1:
		return usageError(stderr, fs.cmd, "--runs must be at least 1")
	case fs.NArg() == 0:
		return usageError(stderr, fs.cmd, "which program? (nsvm inject [flags] PROG [ARGS...])")
	}
	name, occ := call.name, call.occ
	prog := fs.Arg(0)
	image, st := readProgram(prog, stderr)
	if st != 0 {
		return st
	}
	img, err := loader.Parse(image)
	if err != nil {
		fmt.Fprintf(stderr, "nsvm: %s: %v\n", prog, err)
		return exitNoExec
	}
	if st := checkMem(fs, uint64(mem), img, prog, stderr); st != 0 {
		return st
	}
	memSize := uint64(mem)
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		fmt.Fprintf(stderr, "nsvm: %v\n", err)
		return exitInternal
	}
	defer null.Close()
	abs, _ := filepath.Abs(prog)
	sw := &Sweep{Program: prog, Syscall: name, Occurrence: occ, Mode: "fail-nth"}
	if prob > 0 {
		sw.Mode, sw.Seed, sw.Probability = "random", *seed, uint64(prob)
	}
	progress := newProgress(stderr)
	start := time.Now()
	one := func(nth uint32, in *fault.Injector) (guestkernel.SweepRow, error) {
		arm := &guestkernel.FailArm{Syscall: name, Occurrence: occ, Nth: nth}
		cfg := guestkernel.Config{Image: image, Path: prog, ExePath: abs, Args: fs.Args(), Env: os.Environ(),
			Stdin: int(null.Fd()), Stdout: int(null.Fd()), Stderr: int(null.Fd()), Log: io.Discard,
			Fault: in, FailArm: arm}
		st, _, err := guestkernel.RunProgram(cfg, guestkernel.RunOptions{Mem: memSize, Timeout: time.Duration(timeout)})
		if errors.Is(err, guestkernel.ErrTimeout) {
			err = fmt.Errorf("timed out after %v", timeout)
		}
		row := guestkernel.SweepRowFrom(nth, arm.Result(), st, err)
		if in != nil && len(in.Injected) > 0 && row.Site == "" {
			row.Site = in.Injected[0].Site
			row.Step = fault.StepOf(row.Site)
		}
		return row, err
	}
	if sw.Mode == "fail-nth" {
		for nth := uint32(1); int(nth) <= *maxN; nth++ {
			in := fault.NewInjector(0)
			in.Site = *site
			row, err := one(nth, in)
			sw.Rows = append(sw.Rows, row)
			progress.step(int(nth), 0)
			if errors.Is(err, vm.ErrNoKVM) {
				fmt.Fprintf(stderr, "nsvm inject: %v\n", err)
				return exitInternal
			}
			if !row.Injected {
				break // fewer sites than nth: every site has been failed once
			}
		}
	} else {
		for i := 0; i < *runs; i++ {
			in := fault.NewInjector(*seed + uint64(i))
			in.Site = *site
			for _, c := range []fault.Capability{fault.Failslab, fault.PageAlloc} {
				in.Attrs[c].Probability, in.Attrs[c].Times = uint64(prob), -1
			}
			row, err := one(0, in)
			row.Nth = uint32(i) // the run index (seed = --seed + index)
			sw.Rows = append(sw.Rows, row)
			progress.step(i+1, *runs)
			// A guest that hangs or deadlocks under injected
			// failures is an outcome, not an nsvm failure.
			if errors.Is(err, vm.ErrNoKVM) {
				fmt.Fprintf(stderr, "nsvm inject: %v\n", err)
				return exitInternal
			}
		}
	}
	progress.done()
	sw.Runs = len(sw.Rows)
	sw.Seconds = time.Since(start).Seconds()
	sw.RunsPerSec = float64(sw.Runs) / sw.Seconds
	for _, r := range sw.Rows {
		if len(r.Leaks) > 0 {
			sw.Leaks++
		}
	}
	if format.value == "json" {
		e := json.NewEncoder(stdout)
		e.SetIndent("", "  ")
		e.Encode(sw)
	} else {
		writeSweepTable(stdout, sw)
	}
	if sw.Leaks > 0 {
		return 1
	}
	return 0
}

func writeSweepTable(w io.Writer, sw *Sweep) {
	col := "NTH"
	if sw.Mode == "random" {
		col = "RUN"
	}
	fmt.Fprintf(w, "%-4s %-22s %-38s %-9s %-18s %s\n", col, "SITE", "STEP", "ERRNO", "OUTCOME", "UNWIND")
	for _, r := range sw.Rows {
		site, step := r.Site, r.Step
		if !r.Injected {
			site, step = "-", "(not injected)"
		}
		fmt.Fprintf(w, "%-4d %-22s %-38s %-9s %-18s %s\n", r.Nth, site, step, r.Errno, r.Outcome, r.Unwind)
		for _, l := range r.Leaks {
			fmt.Fprintf(w, "     leak: %s\n", l)
		}
	}
	fmt.Fprintf(w, "%d runs in %.3f s (%.0f runs/s), %d with leaks\n", sw.Runs, sw.Seconds, sw.RunsPerSec, sw.Leaks)
}

// progress draws a one-line progress bar on a terminal, nothing elsewhere.
type progress struct {
	w   io.Writer
	tty bool
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
		p.tty = err == nil
	}
	return p
}

func (p *progress) step(i, total int) {
	if !p.tty {
		return
	}
	if total <= 0 {
		fmt.Fprintf(p.w, "\rrun %d", i)
		return
	}
	const width = 30
	done := i * width / total
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d", strings.Repeat("#", done), strings.Repeat(".", width-done), i, total)
}

func (p *progress) done() {
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
