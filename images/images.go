// Package images holds the guest programs that ship inside nsvm.
//
// Every image is an unmodified static x86-64 Linux executable built from
// the sources in src/ by the Makefile in this directory, with fixed flags
// so that the build is reproducible (see bin/SHA256SUMS and "make check").
// The binaries are committed and embedded into the nsvm binary, so that
// "nsvm run" without a program has something to run.
package images

import (
	"embed"
	"sort"
)

// DefaultName is the name of the image that "nsvm run" runs when no
// program is given: the tour of what nsvm is for (src/tour.c).
const DefaultName = "tour"

//go:embed bin/tour bin/hello bin/hello-raw bin/fault-null bin/fault-ud2 bin/fault-div0 bin/fault-int3
var files embed.FS

// Default is the ELF image named DefaultName, a static glibc program in
// four steps: fork with live x87/SSE/AVX registers; clone into new pid,
// UTS and IPC namespaces (pid 1, its own hostname, which /proc/self/ns
// links differ); one allocation inside that clone failed through
// /proc/thread-self/fail-nth, then a successful retry; pointers to
// "nsvm bench fork", "nsvm ns" and "nsvm inject". Its output is
// deterministic, and natively (as root) steps 1 and 2 print the same.
var Default = mustRead(DefaultName)

// names lists the embedded images, sorted.
var names = func() []string {
	entries, err := files.ReadDir("bin")
	if err != nil {
		panic("images: " + err.Error())
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}()

func mustRead(name string) []byte {
	b, ok := Lookup(name)
	if !ok {
		panic("images: missing embedded image " + name)
	}
	return b
}

// Lookup returns the ELF image with the given name (for example "tour",
// "hello", "hello-raw" or "fault-null") and whether it exists. The returned slice
// is shared: callers must not modify it.
func Lookup(name string) ([]byte, bool) {
	for _, n := range names {
		if n == name {
			b, err := files.ReadFile("bin/" + name)
			if err != nil {
				return nil, false
			}
			return b, true
		}
	}
	return nil, false
}

// Names returns the names of all embedded images in sorted order:
//
//   - tour: the default image (see Default);
//   - hello: static glibc printf/malloc/uname demo;
//   - hello-raw: no libc, one write(2) and exit_group(0);
//   - fault-null, fault-ud2, fault-div0, fault-int3: print one line, then
//     die with SIGSEGV, SIGILL, SIGFPE and SIGTRAP respectively.
func Names() []string {
	return append([]string(nil), names...)
}
