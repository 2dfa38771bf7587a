package cbuild

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
	code := m.Run()
	Cleanup()
	os.Exit(code)
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
