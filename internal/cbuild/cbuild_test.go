package cbuild

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestStatic(t *testing.T) {
	src := filepath.Join(t.TempDir(), "hi.c")
	code := "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 7; }\n"
	if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	// Parallel subtests ask for the same binary at the same time.
	paths := make([]string, 4)
	t.Run("group", func(t *testing.T) {
		for i := range paths {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				paths[i] = Static(t, src)
			})
		}
	})
	if t.Failed() || paths[0] == "" {
		return
	}
	for _, p := range paths[1:] {
		if p != paths[0] {
			t.Fatalf("same source built to different paths: %q", paths)
		}
	}
	out, err := exec.Command(paths[0]).Output()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 7 || string(out) != "hi\n" {
		t.Fatalf("running the binary: output %q, err %v; want \"hi\\n\", exit status 7", out, err)
	}
	if p := Static(t, src, "-DX=1"); p == paths[0] {
		t.Fatal("different flags gave the same cached binary")
	}
}

func TestMain(m *testing.M) {
	// The package's own tests use a cache of their own.
	dir, err := os.MkdirTemp("", "nsvm-cbuild-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Setenv(DirEnv, dir)
	code := m.Run()
	Cleanup()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestCacheOutlivesProcess checks that a binary built once is found again
// after Cleanup (as a later test process would), without gcc, and that a
// read-only cache falls back to a temporary directory that Cleanup
// removes.
func TestCacheOutlivesProcess(t *testing.T) {
	src := filepath.Join(t.TempDir(), "persist.c")
	if err := os.WriteFile(src, []byte("int main(void) { return 3; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	first := Static(t, src)
	if filepath.Dir(first) != Dir() {
		t.Fatalf("built into %s, want the cache %s", filepath.Dir(first), Dir())
	}
	Cleanup()
	t.Setenv("PATH", "")
	if again := Static(t, src); again != first {
		t.Fatalf("after Cleanup, without gcc: got %s, want the cached %s", again, first)
	}
	Cleanup()
}

func TestReadOnlyCacheFallsBack(t *testing.T) {
	// A regular file where the cache directory should be: it can be
	// neither created nor written, even by root.
	blocker := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(DirEnv, filepath.Join(blocker, "cache"))
	src := filepath.Join(t.TempDir(), "fallback.c")
	if err := os.WriteFile(src, []byte("int main(void) { return 4; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := Static(t, src)
	tmp := filepath.Dir(p)
	if !strings.HasPrefix(filepath.Base(tmp), "nsvm-cbuild-") {
		t.Fatalf("built into %s, want a per-process temporary directory", tmp)
	}
	Cleanup()
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("Cleanup left %s behind (stat: %v)", tmp, err)
	}
}

func TestDynamic(t *testing.T) {
	src := filepath.Join(t.TempDir(), "dyn.c")
	if err := os.WriteFile(src, []byte("int main(void) { return 0; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(Dynamic(t, src))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return
		}
	}
	t.Fatal("Dynamic built an executable without PT_INTERP")
}
