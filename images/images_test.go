package images

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// wantImages is the set of images the Makefile builds and images.go embeds.
var wantImages = []string{"fault-div0", "fault-int3", "fault-null", "fault-ud2", "hello", "hello-raw", "tour"}

func TestNames(t *testing.T) {
	got := Names()
	if strings.Join(got, " ") != strings.Join(wantImages, " ") {
		t.Fatalf("Names() = %q, want %q", got, wantImages)
	}
	got[0] = "mutated"
	if Names()[0] == "mutated" {
		t.Fatal("Names() returns a shared slice")
	}
	if _, ok := Lookup("no-such-image"); ok {
		t.Fatal(`Lookup("no-such-image") reported ok`)
	}
	b, ok := Lookup(DefaultName)
	if !ok || !bytes.Equal(b, Default) {
		t.Fatalf("Lookup(DefaultName) = %d bytes, %v; want Default (%d bytes)", len(b), ok, len(Default))
	}
}

// TestImagesAreStaticELF64 checks that every embedded image is a static
// x86-64 ELF64 executable: little endian, EM_X86_64, no PT_INTERP, at
// least one PT_LOAD, and an entry point inside an executable segment.
func TestImagesAreStaticELF64(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			b, _ := Lookup(name)
			f, err := elf.NewFile(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("not an ELF file: %v", err)
			}
			defer f.Close()
			if f.Class != elf.ELFCLASS64 || f.Data != elf.ELFDATA2LSB || f.Machine != elf.EM_X86_64 {
				t.Fatalf("class %v data %v machine %v; want ELFCLASS64 ELFDATA2LSB EM_X86_64", f.Class, f.Data, f.Machine)
			}
			if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
				t.Fatalf("type %v; want ET_EXEC (or ET_DYN for static-pie)", f.Type)
			}
			var loads int
			entryOK := false
			for _, p := range f.Progs {
				switch p.Type {
				case elf.PT_INTERP:
					t.Fatal("has PT_INTERP: dynamically linked")
				case elf.PT_DYNAMIC:
					if f.Type == elf.ET_EXEC {
						t.Fatal("ET_EXEC with PT_DYNAMIC: dynamically linked")
					}
				case elf.PT_LOAD:
					loads++
					if p.Flags&elf.PF_X != 0 && f.Entry >= p.Vaddr && f.Entry < p.Vaddr+p.Memsz {
						entryOK = true
					}
				}
			}
			if loads == 0 {
				t.Fatal("no PT_LOAD segments")
			}
			if !entryOK {
				t.Fatalf("entry point %#x is not inside an executable PT_LOAD segment", f.Entry)
			}
		})
	}
}

// readSums parses bin/SHA256SUMS ("<hex>  <name>" lines).
func readSums(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("bin", "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 2 {
			t.Fatalf("bad SHA256SUMS line %q", sc.Text())
		}
		sums[strings.TrimPrefix(fields[1], "*")] = fields[0]
	}
	return sums
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestSHA256SUMS checks that bin/SHA256SUMS describes exactly the embedded
// images, i.e. that "make -C images sums" was run after the last rebuild.
func TestSHA256SUMS(t *testing.T) {
	sums := readSums(t)
	if len(sums) != len(Names()) {
		t.Errorf("SHA256SUMS has %d entries, %d images are embedded", len(sums), len(Names()))
	}
	for _, name := range Names() {
		b, _ := Lookup(name)
		if got, want := sha(b), sums[name]; got != want {
			t.Errorf("%s: sha256 %s, SHA256SUMS says %q; run: make -C images sums", name, got, want)
		}
	}
}

// toolchain returns the same two lines that "make sums" writes to
// bin/TOOLCHAIN for the gcc and ld found in $PATH.
func toolchain() string {
	first := func(name string, args ...string) string {
		out, _ := exec.Command(name, args...).Output()
		line, _, _ := strings.Cut(string(out), "\n")
		return line
	}
	return first("gcc", "--version") + "\n" + first("ld", "--version") + "\n"
}

// rebuild builds src/<src> into <name> the way "make check" does (in a
// different directory, with the Makefile's flags, given here without the
// -ffile-prefix-map that rebuild adds) and compares the result with
// bin/SHA256SUMS. It needs gcc; a mismatch is a failure only when the local
// toolchain is the one recorded in bin/TOOLCHAIN.
func rebuild(t *testing.T, name, src string, flags ...string) {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("skipping: gcc not found in $PATH; the reproducibility check needs gcc and binutils")
	}
	text, err := os.ReadFile(filepath.Join("src", src))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, d := range []string{"src", "bin"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "src", src), text, 0o644); err != nil {
		t.Fatal(err)
	}
	args := append(append([]string{}, flags...), "-ffile-prefix-map="+dir+"=.", "-o", "bin/"+name, "src/"+src)
	cmd := exec.Command("gcc", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "SOURCE_DATE_EPOCH=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gcc failed: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "bin", name))
	if err != nil {
		t.Fatal(err)
	}
	got, want := sha(b), readSums(t)[name]
	if got == want {
		return
	}
	recorded, _ := os.ReadFile(filepath.Join("bin", "TOOLCHAIN"))
	if local := toolchain(); local != string(recorded) {
		t.Skipf("skipping: rebuilt %s has sha256 %s, SHA256SUMS says %s, but the local toolchain\n%sis not the recorded one\n%s",
			name, got, want, local, recorded)
	}
	t.Fatalf("rebuilt %s has sha256 %s, SHA256SUMS says %s (same toolchain: the committed binary is stale, or the build is not reproducible; run make -C images sums)",
		name, got, want)
}

// TestRebuildHelloRaw rebuilds hello-raw (RAWFLAGS in the Makefile).
func TestRebuildHelloRaw(t *testing.T) {
	rebuild(t, "hello-raw", "hello-raw.S", "-static", "-nostdlib", "-Wl,--build-id=none")
}

// TestRebuildTour rebuilds the default image (CFLAGS in the Makefile), so
// that an edit of src/tour.c without "make -C images sums" is caught.
func TestRebuildTour(t *testing.T) {
	rebuild(t, DefaultName, DefaultName+".c", "-static", "-O2", "-fno-asynchronous-unwind-tables", "-Wl,--build-id=none")
}
