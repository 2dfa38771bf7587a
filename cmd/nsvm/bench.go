package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"nsvm/bench"
	"nsvm/vm"
)

// cmdBench runs `nsvm bench fork`: the fork benchmark suite, nsvm and
// the host in the same run.
func cmdBench(argv []string, stdout, stderr io.Writer) int {
	if len(argv) == 0 || argv[0] != "fork" {
		fmt.Fprintln(stderr, "usage: nsvm bench fork [--quick] [--out DIR] [--samples N]")
		return 2
	}
	fs := flag.NewFlagSet("bench fork", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "a short run for CI (seconds): fewer samples and sweep points")
	out := fs.String("out", "", "write results.json, results.bench (benchstat), memory.svg and histogram.svg here (full runs default to ./nsvm-bench)")
	samples := fs.Int("samples", 0, "samples per measurement (default 30 quick, 200 full)")
	if err := fs.Parse(argv[1:]); err != nil {
		return 2
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
