// Package bench holds nsvm's benchmarks. Every figure is reported next to
// a baseline measured in the same run (a native spawn, the no-work syscall
// path, the bare exit floor), because our machines are noisy and absolute
// numbers from different runs do not compare. Run them with
//
//	go test -run='^$' -bench=. ./bench/
//
// See README.md in this folder for how to read the numbers.
package bench
