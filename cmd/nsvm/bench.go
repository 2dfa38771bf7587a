package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/nsvm/nsvm/bench"
	"github.com/nsvm/nsvm/vm"
)

const benchHelp = `usage: nsvm bench fork [flags]

Benchmarks. The one suite is fork: latency per call kind, memory and FPU
sweeps and throughput, under nsvm and on the host in the same run
('nsvm bench fork --help' for its flags). Exit status 0, or 125 for a
usage error or when nsvm itself failed.
`

const benchForkHelp = `usage: nsvm bench fork [flags]

Fork benchmarks, nsvm and the host side by side in one run: latency
percentiles per call kind, pinned, memory and FPU sweeps, throughput, a
breakdown of nsvm's time, the exit floor. Prints a table; writes JSON,
benchstat lines and SVG plots to --out. Exit status 0, or 125 for a usage
error or when nsvm itself failed.
`

// cmdBench runs `nsvm bench fork`: the fork benchmark suite, nsvm and
// the host in the same run.
func cmdBench(argv []string, stdout, stderr io.Writer) int {
	top := newFlags("nsvm bench", benchHelp)
	if st, ok := top.parse(argv, stdout, stderr); !ok {
		return st
	}
	switch {
	case top.NArg() == 0:
		return usageError(stderr, top.cmd, "which benchmark? (nsvm bench fork [flags])")
	case top.Arg(0) != "fork":
		return usageError(stderr, top.cmd, "unknown benchmark %q (there is fork)", top.Arg(0))
	}
	fs := newFlags("nsvm bench fork", benchForkHelp)
	quick := fs.Bool("quick", false, "a short run for CI (seconds): fewer samples and sweep points")
	out := fs.String("out", "", "write results.json, results.bench (benchstat), memory.svg and histogram.svg here (full runs default to ./nsvm-bench)")
	samples := fs.Int("samples", 0, "samples per measurement (default 30 quick, 200 full)")
	if st, ok := fs.parse(top.Args()[1:], stdout, stderr); !ok {
		return st
	}
	if st, ok := fs.noArgs(stderr); !ok {
		return st
	}
	if *samples < 0 {
		return usageError(stderr, fs.cmd, "--samples must not be negative")
	}
	if _, err := vm.Open(); err != nil {
		fmt.Fprintf(stderr, "nsvm: %v\n", err)
		return exitInternal
	}
	work, err := os.MkdirTemp("", "nsvm-bench-")
	if err != nil {
		fmt.Fprintf(stderr, "nsvm: %v\n", err)
		return exitInternal
	}
	defer os.RemoveAll(work)
	res, err := bench.RunSuite(bench.Options{Quick: *quick, Log: stderr, WorkDir: work, Samples: *samples})
	if err != nil {
		fmt.Fprintf(stderr, "nsvm bench: %v\n", err)
		return exitInternal
	}
	res.WriteTable(stdout)
	dir := *out
	if dir == "" && !*quick {
		dir = "nsvm-bench"
	}
	if dir == "" {
		return 0
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(stderr, "nsvm bench: %v\n", err)
		return exitInternal
	}
	for name, write := range map[string]func(io.Writer){
		"results.json":  func(w io.Writer) { res.WriteJSON(w) },
		"results.bench": res.WriteBenchstat,
		"memory.svg":    res.WriteMemoryPlot,
		"histogram.svg": res.WriteHistogram,
	} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			fmt.Fprintf(stderr, "nsvm bench: %v\n", err)
			return exitInternal
		}
		write(f)
		f.Close()
	}
	fmt.Fprintf(stdout, "wrote %s/{results.json,results.bench,memory.svg,histogram.svg}\n", dir)
	return 0
}
