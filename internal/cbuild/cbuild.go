// Package cbuild compiles small C and assembly programs for tests.
//
// Tests that compare nsvm against native execution need static x86-64
// binaries; cbuild builds them with the host's gcc and caches the result
// for the lifetime of the test process, so several tests can share one
// program without compiling it again.
package cbuild

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// build is one compilation, shared by every caller that asks for the same
// source content and flags.
type build struct {
	once sync.Once
	path string // the binary, when err is nil
	err  error  // why the build failed; includes gcc's output
}

var (
	mu       sync.Mutex
	builds   = map[string]*build{}
	cacheDir string // created on first use
	dirErr   error
)

// dir returns the per-process cache directory, creating it on first use.
// It must be called with mu held.
func dir() (string, error) {
	if cacheDir == "" && dirErr == nil {
		cacheDir, dirErr = os.MkdirTemp("", fmt.Sprintf("nsvm-cbuild-%d-", os.Getpid()))
	}
	return cacheDir, dirErr
}

// Static compiles the C (.c) or assembly (.S) file src into a static
// executable with
//
//	gcc -static -O1 -o <out> src extraFlags...
//
// and returns the path of the executable. Results are cached in a
// per-process directory under os.TempDir(), keyed by the sha256 of the
// source's content and the flags, so calling Static again with the same
// arguments is cheap. It is safe to call from parallel tests: concurrent
// requests for the same binary wait for a single compilation.
//
// If the compilation fails, Static fails the test with gcc's output. If
// gcc is not installed, Static skips the test, or fails it when the CI
// environment variable is set (CI machines must have gcc).
func Static(tb testing.TB, src string, extraFlags ...string) string {
	tb.Helper()
	return compile(tb, []string{"-static", "-O1"}, src, extraFlags)
}

// Dynamic is like Static but links dynamically (gcc's default, usually a
// PIE with a PT_INTERP program header), with
//
//	gcc -O1 -o <out> src extraFlags...
//
// Tests use it to check that nsvm refuses dynamic executables.
func Dynamic(tb testing.TB, src string, extraFlags ...string) string {
	tb.Helper()
	return compile(tb, []string{"-O1"}, src, extraFlags)
}

// compile runs gcc baseFlags... -o <out> src extraFlags... through the
// cache; see Static.
func compile(tb testing.TB, baseFlags []string, src string, extraFlags []string) string {
	tb.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("cbuild: gcc not found in $PATH (%v); gcc with static glibc (libc6-dev) is required in CI", err)
		}
		tb.Skipf("skipping: gcc not found in $PATH (%v); install gcc and static glibc (libc6-dev) to build test programs", err)
	}
	content, err := os.ReadFile(src)
	if err != nil {
		tb.Fatalf("cbuild: %v", err)
	}
	abs, err := filepath.Abs(src)
	if err != nil {
		tb.Fatalf("cbuild: %v", err)
	}

	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00", filepath.Ext(src), len(content))
	h.Write(content)
	for _, f := range baseFlags {
		fmt.Fprintf(h, "\x00base:%s", f)
	}
	for _, f := range extraFlags {
		fmt.Fprintf(h, "\x00%s", f)
	}
	key := hex.EncodeToString(h.Sum(nil))[:24]

	mu.Lock()
	cache, err := dir()
	b := builds[key]
	if b == nil {
		b = &build{}
		builds[key] = b
	}
	mu.Unlock()
	if err != nil {
		tb.Fatalf("cbuild: creating cache directory: %v", err)
	}

	b.once.Do(func() {
		base := strings.TrimSuffix(filepath.Base(src), filepath.Ext(src))
		out := filepath.Join(cache, base+"-"+key)
		tmp := out + ".tmp"
		args := append(append(append([]string(nil), baseFlags...), "-o", tmp, abs), extraFlags...)
		cmd := exec.Command(gcc, args...)
		cmd.Dir = cache
		cmd.Env = append(os.Environ(), "LC_ALL=C")
		if output, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("gcc %s: %v\n%s", strings.Join(args, " "), err, output)
			return
		}
		if err := os.Rename(tmp, out); err != nil {
			b.err = err
			return
		}
		b.path = out
	})
	if b.err != nil {
		tb.Fatalf("cbuild: compiling %s: %v", src, b.err)
	}
	return b.path
}

// Cleanup removes the cache directory and forgets every cached binary.
// Call it from TestMain after m.Run; later calls to Static start afresh.
func Cleanup() {
	mu.Lock()
	defer mu.Unlock()
	if cacheDir != "" {
		os.RemoveAll(cacheDir)
	}
	cacheDir, dirErr = "", nil
	builds = map[string]*build{}
}
