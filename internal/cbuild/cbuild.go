// Package cbuild compiles small C and assembly programs for tests.
//
// Tests that compare nsvm against native execution need static x86-64
// binaries; cbuild builds them with the host's gcc into a content-addressed
// cache: the key is the sha256 of the source, the flags and the identity of
// the compiler (gcc's and libc.a's size and modification time). The cache
// lives in $NSVM_CBUILD_DIR, or in the user's cache directory
// (~/.cache/nsvm/cbuild), and is kept between runs: nothing is left in
// /tmp, and a second run compiles nothing.
//
// The emulated-SVM suite (test/svm) relies on that: the host's test run
// fills the cache, and the same test binaries inside the emulated machine,
// where gcc would run a hundred times slower, find every program there.
// When the cache directory cannot be written (it is read-only in there), a
// program that is not cached yet is compiled into a per-process temporary
// directory that Cleanup removes.
package cbuild

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
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

// DirEnv names the environment variable that overrides the cache
// directory.
const DirEnv = "NSVM_CBUILD_DIR"

var (
	mu     sync.Mutex
	builds = map[string]*build{}
	// tmpDir is the per-process fallback for a read-only cache, created on
	// first use and removed by Cleanup.
	tmpDir string
)

// Dir returns the persistent cache directory: $NSVM_CBUILD_DIR, else
// nsvm/cbuild under os.UserCacheDir, else under os.TempDir.
func Dir() string {
	if d := os.Getenv(DirEnv); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "nsvm", "cbuild")
	}
	return filepath.Join(os.TempDir(), "nsvm-cbuild")
}

// writableDir returns where a new binary is written: the cache directory
// when it can be created and written, else the per-process temporary
// directory. It must be called with mu held.
func writableDir() (string, error) {
	d := Dir()
	if err := os.MkdirAll(d, 0o755); err == nil {
		if f, err := os.CreateTemp(d, ".probe-*"); err == nil {
			f.Close()
			os.Remove(f.Name())
			return d, nil
		}
	}
	if tmpDir == "" {
		var err error
		if tmpDir, err = os.MkdirTemp("", fmt.Sprintf("nsvm-cbuild-%d-", os.Getpid())); err != nil {
			return "", err
		}
	}
	return tmpDir, nil
}

// toolchainID identifies the compiler and static libc that a cached binary
// was built with, without running them: the path, size and modification
// time of gcc and of libc.a.
func toolchainID(gcc string) string {
	var b strings.Builder
	for _, p := range []string{gcc, "/usr/lib/x86_64-linux-gnu/libc.a"} {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		if fi, err := os.Stat(p); err == nil {
			fmt.Fprintf(&b, "%s:%d:%d;", p, fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return b.String()
}

// Static compiles the C (.c) or assembly (.S) file src into a static
// executable with
//
//	gcc -static -O1 -o <out> src extraFlags...
//
// and returns the path of the executable, from the cache when it is there
// (see the package comment). It is safe to call from parallel tests:
// concurrent requests for the same binary wait for a single compilation.
//
// If the compilation fails, Static fails the test with gcc's output. If
// gcc is not installed and the binary is not cached, Static skips the
// test, or fails it when the CI environment variable is set (CI machines
// must have gcc).
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
	gcc, gccErr := exec.LookPath("gcc")
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
	// The file name adds the toolchain's identity to the key; without gcc
	// that part is unknown, and the newest build of the source is taken.
	prefix := strings.TrimSuffix(filepath.Base(src), filepath.Ext(src)) + "-" + key + "-"
	tool := sha256.Sum256([]byte(toolchainID(gcc)))
	name := prefix + hex.EncodeToString(tool[:])[:8]

	mu.Lock()
	b := builds[key]
	if b == nil {
		b = &build{}
		builds[key] = b
	}
	mu.Unlock()

	b.once.Do(func() {
		if cached := filepath.Join(Dir(), name); isExecutable(cached) {
			b.path = cached
			return
		}
		if gccErr != nil {
			if cached := newest(filepath.Join(Dir(), prefix+"*")); cached != "" {
				b.path = cached
				return
			}
			b.err = errNoGCC{gccErr}
			return
		}
		mu.Lock()
		dir, err := writableDir()
		mu.Unlock()
		if err != nil {
			b.err = fmt.Errorf("creating a build directory: %w", err)
			return
		}
		out := filepath.Join(dir, name)
		tmp, err := os.CreateTemp(dir, name+".*.tmp")
		if err != nil {
			b.err = err
			return
		}
		tmp.Close()
		defer os.Remove(tmp.Name())
		args := append(append(append([]string(nil), baseFlags...), "-o", tmp.Name(), abs), extraFlags...)
		cmd := exec.Command(gcc, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "LC_ALL=C")
		if output, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("gcc %s: %v\n%s", strings.Join(args, " "), err, output)
			return
		}
		// Rename is atomic: a parallel test process sees the old binary
		// or the new one, never half of one.
		if err := os.Rename(tmp.Name(), out); err != nil {
			b.err = err
			return
		}
		b.path = out
	})
	var noGCC errNoGCC
	switch {
	case errors.As(b.err, &noGCC):
		if os.Getenv("CI") != "" {
			tb.Fatalf("cbuild: %s is not cached and gcc is not in $PATH (%v); gcc with static glibc (libc6-dev) is required in CI", src, noGCC.err)
		}
		tb.Skipf("skipping: gcc not found in $PATH (%v); install gcc and static glibc (libc6-dev) to build test programs", noGCC.err)
	case b.err != nil:
		tb.Fatalf("cbuild: compiling %s: %v", src, b.err)
	}
	return b.path
}

// errNoGCC says that a program had to be compiled and gcc is missing.
type errNoGCC struct{ err error }

func (e errNoGCC) Error() string { return "gcc not found: " + e.err.Error() }

// newest returns the most recently modified executable that matches
// pattern, or "".
func newest(pattern string) string {
	matches, _ := filepath.Glob(pattern)
	var best string
	var bestTime int64
	for _, m := range matches {
		fi, err := os.Stat(m)
		if err != nil || strings.HasSuffix(m, ".tmp") || !isExecutable(m) {
			continue
		}
		if t := fi.ModTime().UnixNano(); best == "" || t > bestTime {
			best, bestTime = m, t
		}
	}
	return best
}

// isExecutable reports whether path is a regular file with an execute bit.
func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// Cleanup removes the per-process temporary directory, if one was needed,
// and forgets every binary this process looked up; the persistent cache
// stays. Call it from TestMain after m.Run.
func Cleanup() {
	mu.Lock()
	defer mu.Unlock()
	if tmpDir != "" {
		os.RemoveAll(tmpDir)
	}
	tmpDir = ""
	builds = map[string]*build{}
}
