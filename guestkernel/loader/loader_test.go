package loader_test

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nsvm/nsvm/guestkernel/loader"
)

func TestProtString(t *testing.T) {
	for p, want := range map[loader.Prot]string{
		0: "---", loader.ProtRead: "r--", loader.ProtRead | loader.ProtExec: "r-x",
		loader.ProtRead | loader.ProtWrite: "rw-", loader.ProtRead | loader.ProtWrite | loader.ProtExec: "rwx",
		loader.ProtWrite: "-w-",
	} {
		if got := p.String(); got != want {
			t.Errorf("Prot(%d).String() = %q, want %q", p, got, want)
		}
	}
}

func TestParseValid(t *testing.T) {
	data := baseSpec().build()
	img, err := loader.Parse(data)
	if err != nil {
		t.Fatalf("Parse(base): %v", err)
	}
	if img.Entry != 0x401010 || img.PIE || img.Phent != 56 || img.Phnum != 5 || img.ExecStack {
		t.Errorf("header fields: %+v", img)
	}
	want := []struct {
		vaddr, memsz, off uint64
		filesz            int
		prot              string
	}{
		{0x400000, 0x200, 0, 0x200, "r--"},
		{0x401000, 0x100, 0x1000, 0x100, "r-x"},
		{0x401100, 0x300, 0x1100, 0x80, "rw-"},
	}
	if len(img.Segments) != len(want) {
		t.Fatalf("got %d segments, want %d", len(img.Segments), len(want))
	}
	for i, w := range want {
		s := img.Segments[i]
		if s.Vaddr != w.vaddr || s.Memsz != w.memsz || s.Offset != w.off || len(s.Data) != w.filesz || s.Prot.String() != w.prot {
			t.Errorf("segment %d = {%#x %#x %#x len %#x %v}, want %+v", i, s.Vaddr, s.Memsz, s.Offset, len(s.Data), s.Prot, w)
		}
		if !bytes.Equal(s.Data, data[w.off:w.off+uint64(w.filesz)]) {
			t.Errorf("segment %d data does not match the file bytes", i)
		}
		if cap(s.Data) != len(s.Data) {
			t.Errorf("segment %d data has spare capacity %d; appending would clobber the input", i, cap(s.Data)-len(s.Data))
		}
	}
	if img.PhdrVaddr != 0x400040 {
		t.Errorf("PhdrVaddr = %#x, want 0x400040", img.PhdrVaddr)
	}
	if img.End != 0x401400 {
		t.Errorf("End = %#x, want 0x401400", img.End)
	}
	if img.TLS == nil || img.TLS.Vaddr != 0x401100 || img.TLS.Memsz != 0x20 || len(img.TLS.Data) != 0x10 {
		t.Errorf("TLS = %+v", img.TLS)
	}
}

func TestParseValidVariants(t *testing.T) {
	tests := []struct {
		name  string
		spec  func() spec
		check func(t *testing.T, img *loader.Image)
	}{
		{"compact", compactSpec, func(t *testing.T, img *loader.Image) {
			if len(img.Segments) != 3 || img.PhdrVaddr != 0x400040 || img.End != 0x402280 {
				t.Errorf("got %+v", img)
			}
		}},
		{"static-pie", pieSpec, func(t *testing.T, img *loader.Image) {
			if !img.PIE || img.Entry != 0x1010 || img.Segments[0].Vaddr != 0 || img.PhdrVaddr != 0x40 || img.End != 0x1400 {
				t.Errorf("got %+v", img)
			}
		}},
		{"PT_PHDR wins", func() spec {
			s := baseSpec()
			s.phdrs = append([]ph{{typ: ptPhdr, flags: pfR, off: 64, vaddr: 0x400040, filesz: 6 * 56, memsz: 6 * 56, align: 8}}, s.phdrs...)
			return s
		}, func(t *testing.T, img *loader.Image) {
			if img.PhdrVaddr != 0x400040 || img.Phnum != 6 {
				t.Errorf("PhdrVaddr = %#x, Phnum = %d", img.PhdrVaddr, img.Phnum)
			}
		}},
		{"headers not mapped", func() spec {
			s := baseSpec()
			s.phdrs[0].off, s.phdrs[0].filesz = 0x1000, 0x100 // no segment holds file offset 64
			return s
		}, func(t *testing.T, img *loader.Image) {
			if img.PhdrVaddr != 0 {
				t.Errorf("PhdrVaddr = %#x, want 0", img.PhdrVaddr)
			}
		}},
		{"unsorted loads and empty load", func() spec {
			s := baseSpec()
			s.phdrs[0], s.phdrs[2] = s.phdrs[2], s.phdrs[0]
			s.phdrs = append(s.phdrs, ph{typ: ptLoad, flags: pfR, off: 0x1234, vaddr: 0x401235})
			return s
		}, func(t *testing.T, img *loader.Image) {
			if len(img.Segments) != 3 {
				t.Fatalf("got %d segments, want 3", len(img.Segments))
			}
			for i := 1; i < len(img.Segments); i++ {
				if img.Segments[i-1].Vaddr >= img.Segments[i].Vaddr {
					t.Errorf("segments not sorted: %#x then %#x", img.Segments[i-1].Vaddr, img.Segments[i].Vaddr)
				}
			}
		}},
		{"exec stack", func() spec {
			s := baseSpec()
			s.phdrs[4].flags |= pfX
			return s
		}, func(t *testing.T, img *loader.Image) {
			if !img.ExecStack {
				t.Error("ExecStack = false")
			}
		}},
		{"load ends at MaxUserAddr", func() spec {
			s := baseSpec()
			s.phdrs[2].vaddr = loader.MaxUserAddr - 0x2f00
			s.phdrs[2].memsz = 0x2f00
			return s
		}, func(t *testing.T, img *loader.Image) {
			if img.End != loader.MaxUserAddr {
				t.Errorf("End = %#x", img.End)
			}
		}},
		{"entry in bss of text", func() spec {
			s := baseSpec()
			s.phdrs[1].memsz = 0x100
			s.entry = 0x4010ff
			return s
		}, nil},
		{"p_align 0", func() spec {
			s := baseSpec()
			for i := range s.phdrs {
				s.phdrs[i].align = 0
			}
			return s
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img, err := loader.Parse(tc.spec().build())
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if tc.check != nil {
				tc.check(t, img)
			}
		})
	}
}

func patch(f func(b []byte)) func() []byte {
	return func() []byte {
		b := baseSpec().build()
		f(b)
		return b
	}
}

func fromSpec(f func(s *spec)) func() []byte {
	return func() []byte {
		s := baseSpec()
		f(&s)
		return s.build()
	}
}

func TestParseErrors(t *testing.T) {
	base := baseSpec().build()
	trunc := func(n int) func() []byte { return func() []byte { return base[:n:n] } }
	tests := []struct {
		name string
		data func() []byte
		kind loader.ErrKind
		msg  string // substring of the message
	}{
		{"empty", trunc(0), loader.ErrNotELF, "not an ELF file"},
		{"text", func() []byte { return []byte("hello, world\n") }, loader.ErrNotELF, "bad magic 68 65 6c 6c"},
		{"script", func() []byte { return []byte("#!/bin/sh\necho hi\n") }, loader.ErrNotELF, "not an ELF file"},
		{"bad magic", patch(func(b []byte) { b[3] = 0 }), loader.ErrNotELF, "not an ELF file (bad magic 7f 45 4c 00)"},
		{"short bad magic", func() []byte { return []byte{0x7f, 'E', 'X'} }, loader.ErrNotELF, "bad magic 7f 45 58"},
		{"truncated 3", trunc(3), loader.ErrTruncated, "truncated ELF"},
		{"truncated 10", trunc(10), loader.ErrTruncated, "truncated ELF"},
		{"truncated 40", trunc(40), loader.ErrTruncated, "64-byte ELF header"},
		{"truncated 63", trunc(63), loader.ErrTruncated, "64-byte ELF header"},
		{"truncated 64", trunc(64), loader.ErrTruncated, "program header 0 ends at 0x78"},
		{"truncated in phdr 3", trunc(64 + 3*56 + 10), loader.ErrTruncated, "truncated ELF: program header 3 ends at 0x120 past end of file (0xf2 bytes)"},
		{"truncated in text", trunc(0x1050), loader.ErrTruncated, "segment 1 file range [0x1000,0x1100) ends past end of file"},
		{"truncated in data", trunc(0x117f), loader.ErrTruncated, "segment 2"},
		{"phoff past end", fromSpec(func(s *spec) { s.phoff = 1 << 24 }), loader.ErrTruncated, "program header table starts at 0x1000000"},
		{"phoff near 2^64", fromSpec(func(s *spec) { s.phoff = ^uint64(0) - 8 }), loader.ErrTruncated, "past end of file"},
		{"ELFCLASS32", patch(func(b []byte) { b[4] = 1 }), loader.ErrClass, "32-bit ELF (ELFCLASS32); nsvm runs only 64-bit x86-64 programs"},
		{"ELFCLASSNONE", patch(func(b []byte) { b[4] = 0 }), loader.ErrClass, "invalid ELF class 0"},
		{"big endian", patch(func(b []byte) { b[5] = 2 }), loader.ErrEndian, "big-endian"},
		{"bad data encoding", patch(func(b []byte) { b[5] = 9 }), loader.ErrEndian, "data encoding 9"},
		{"EI_VERSION 0", patch(func(b []byte) { b[6] = 0 }), loader.ErrNotELF, "identification version 0"},
		{"EM_AARCH64", fromSpec(func(s *spec) { s.machine = 183 }), loader.ErrMachine, "ELF for machine AArch64 (183), not x86-64"},
		{"EM_386", fromSpec(func(s *spec) { s.machine = 3 }), loader.ErrMachine, "i386 (3)"},
		{"ET_REL", fromSpec(func(s *spec) { s.typ = 1 }), loader.ErrType, "ET_REL"},
		{"ET_CORE", fromSpec(func(s *spec) { s.typ = 4 }), loader.ErrType, "ET_CORE"},
		{"ET_NONE", fromSpec(func(s *spec) { s.typ = 0 }), loader.ErrType, "type 0"},
		{"PT_INTERP exec", func() []byte { return withInterp(baseSpec()).build() }, loader.ErrDynamic,
			"dynamically linked executable (PT_INTERP /lib64/ld-linux-x86-64.so.2); build it with gcc -static"},
		{"PT_INTERP pie", func() []byte { return withInterp(pieSpec()).build() }, loader.ErrDynamic, "gcc -static"},
		{"PT_INTERP out of file", func() []byte {
			s := withInterp(baseSpec())
			s.phdrs[0].off = 1 << 40
			return s.build()
		}, loader.ErrDynamic, "PT_INTERP out of file bounds"},
		{"PT_INTERP garbage name", func() []byte {
			s := withInterp(baseSpec())
			s.interp = "a\nb\x00"
			return s.build()
		}, loader.ErrDynamic, `"a\nb"`},
		{"phnum 0", fromSpec(func(s *spec) { s.phnum = 0 }), loader.ErrNoLoad, "no program headers"},
		{"no PT_LOAD", fromSpec(func(s *spec) { s.phdrs = s.phdrs[3:] }), loader.ErrNoLoad, "no loadable"},
		{"only empty PT_LOAD", fromSpec(func(s *spec) { s.phdrs = []ph{{typ: ptLoad, flags: pfR | pfX, vaddr: 0x401000}} }), loader.ErrNoLoad, "no loadable"},
		{"phnum 0xffff", fromSpec(func(s *spec) { s.phnum = 0xffff }), loader.ErrBadSegment, "PN_XNUM"},
		{"phnum 513", fromSpec(func(s *spec) { s.phnum = 513 }), loader.ErrBadSegment, "too many program headers"},
		{"phentsize 32", fromSpec(func(s *spec) { s.phentsize = 32 }), loader.ErrBadSegment, "entry size is 32 bytes"},
		{"overlap", fromSpec(func(s *spec) { s.phdrs[2].vaddr, s.phdrs[2].off = 0x4010f0, 0x10f0 }), loader.ErrBadSegment,
			"segments 1 and 2 overlap: [0x401000,0x401100) and [0x4010f0,0x4013f0)"},
		{"overlap contained", fromSpec(func(s *spec) {
			s.phdrs[0].memsz = 0x10000
		}), loader.ErrBadSegment, "segments 0 and 1 overlap"},
		{"overlap same start", fromSpec(func(s *spec) { s.phdrs[0].vaddr, s.phdrs[0].off, s.phdrs[0].filesz = 0x401000, 0x1000, 0x100 }), loader.ErrBadSegment, "overlap"},
		{"filesz > memsz", fromSpec(func(s *spec) { s.phdrs[2].memsz = 0x7f }), loader.ErrBadSegment, "segment 2: file size 0x80 exceeds memory size 0x7f"},
		{"huge memsz", fromSpec(func(s *spec) { s.phdrs[2].memsz = 1 << 40 }), loader.ErrBadSegment, "segment 2 is too large: memsz 0x10000000000 exceeds"},
		{"huge total", fromSpec(func(s *spec) {
			s.phdrs[2].memsz = 3 << 34
			s.phdrs = append(s.phdrs, ph{typ: ptLoad, flags: pfR, off: 0, vaddr: 1 << 40, memsz: 3 << 34})
		}), loader.ErrBadSegment, "total memsz"},
		{"huge pie span", func() []byte {
			s := pieSpec()
			s.phdrs = append(s.phdrs, ph{typ: ptLoad, flags: pfR, off: 0, vaddr: 1 << 40, filesz: 0x10, memsz: 0x10})
			return s.build()
		}, loader.ErrBadSegment, "position-independent image spans"},
		{"beyond MaxUserAddr", fromSpec(func(s *spec) {
			s.phdrs[2].vaddr, s.phdrs[2].memsz = loader.MaxUserAddr-0x1f00, 0x2000
		}), loader.ErrBadSegment, "beyond the user address space limit 0x7ffffffff000"},
		{"kernel address", fromSpec(func(s *spec) { s.phdrs[2].vaddr = 0xffffffff80001100 }), loader.ErrBadSegment, "beyond the user address space"},
		{"vaddr overflow", fromSpec(func(s *spec) { s.phdrs[2].vaddr, s.phdrs[2].memsz = 0xfffffffffffff100, 0x1000 }), loader.ErrBadSegment, "overflows 64 bits"},
		{"offset overflow", fromSpec(func(s *spec) {
			s.phdrs[2].off, s.phdrs[2].filesz, s.phdrs[2].memsz = 0xfffffffffffff100, 0x1000, 0x1000
		}), loader.ErrBadSegment, "overflows 64 bits"},
		{"huge offset", fromSpec(func(s *spec) { s.phdrs[2].off = 0x7ffffffff100 }), loader.ErrTruncated, "past end of file"},
		{"misaligned offset", fromSpec(func(s *spec) { s.phdrs[1].off = 0x1008 }), loader.ErrBadSegment, "not congruent modulo the page size"},
		{"misaligned vaddr", fromSpec(func(s *spec) { s.phdrs[1].vaddr = 0x401008; s.entry = 0x401010 }), loader.ErrBadSegment, "segment 1: address 0x401008 and file offset 0x1000"},
		{"entry outside", fromSpec(func(s *spec) { s.entry = 0x500000 }), loader.ErrBadSegment, "entry point 0x500000 is not inside an executable segment"},
		{"entry at text end", fromSpec(func(s *spec) { s.entry = 0x401100 }), loader.ErrBadSegment, "segment 2, which is not executable (rw-)"},
		{"entry in rodata", fromSpec(func(s *spec) { s.entry = 0x400010 }), loader.ErrBadSegment, "not executable (r--)"},
		{"entry zero", fromSpec(func(s *spec) { s.entry = 0 }), loader.ErrBadSegment, "entry point 0x0"},
		{"two PT_TLS", fromSpec(func(s *spec) { s.phdrs = append(s.phdrs, s.phdrs[3]) }), loader.ErrBadSegment, "second PT_TLS"},
		{"TLS filesz > memsz", fromSpec(func(s *spec) { s.phdrs[3].filesz = 0x40 }), loader.ErrBadSegment, "TLS segment 3"},
		{"TLS past end", fromSpec(func(s *spec) { s.phdrs[3].off = 0x2000 }), loader.ErrTruncated, "segment 3"},
		{"two PT_PHDR", fromSpec(func(s *spec) {
			p := ph{typ: ptPhdr, flags: pfR, off: 64, vaddr: 0x400040, filesz: 7 * 56, memsz: 7 * 56}
			s.phdrs = append([]ph{p, p}, s.phdrs...)
		}), loader.ErrBadSegment, "program header 1 is a second PT_PHDR"},
		{"PT_PHDR unmapped", fromSpec(func(s *spec) {
			s.phdrs = append(s.phdrs, ph{typ: ptPhdr, flags: pfR, off: 64, vaddr: 0x300000, filesz: 6 * 56, memsz: 6 * 56})
		}), loader.ErrBadSegment, "PT_PHDR"},
		{"PT_PHDR straddles end", fromSpec(func(s *spec) {
			s.phdrs = append(s.phdrs, ph{typ: ptPhdr, flags: pfR, off: 64, vaddr: 0x4001f0, filesz: 6 * 56, memsz: 6 * 56})
		}), loader.ErrBadSegment, "PT_PHDR"},
		{"PT_PHDR near 2^64", fromSpec(func(s *spec) {
			s.phdrs = append(s.phdrs, ph{typ: ptPhdr, flags: pfR, off: 64, vaddr: ^uint64(0) - 10})
		}), loader.ErrBadSegment, "PT_PHDR"},
	}
	allKinds := []loader.ErrKind{loader.ErrNotELF, loader.ErrClass, loader.ErrEndian, loader.ErrMachine, loader.ErrType,
		loader.ErrDynamic, loader.ErrTruncated, loader.ErrBadSegment, loader.ErrNoLoad}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img, err := loader.Parse(tc.data())
			if err == nil {
				t.Fatalf("Parse succeeded (%+v), want %v", img, tc.kind)
			}
			if img != nil {
				t.Errorf("Parse returned an image with an error")
			}
			var le *loader.Error
			if !errors.As(err, &le) {
				t.Fatalf("error %T is not *loader.Error", err)
			}
			if le.Kind != tc.kind {
				t.Errorf("Kind = %v, want %v (%v)", le.Kind, tc.kind, err)
			}
			for _, k := range allKinds {
				if got := errors.Is(err, k); got != (k == tc.kind) {
					t.Errorf("errors.Is(err, %v) = %v", k, got)
				}
			}
			msg := err.Error()
			if strings.ContainsAny(msg, "\r\n") || msg == "" {
				t.Errorf("Error() = %q: want one non-empty line", msg)
			}
			if !strings.Contains(msg, tc.msg) {
				t.Errorf("Error() = %q, want it to contain %q", msg, tc.msg)
			}
		})
	}
}

func TestErrorOneLine(t *testing.T) {
	e := &loader.Error{Kind: loader.ErrType, Msg: "a\nb\r\n"}
	if s := e.Error(); strings.ContainsAny(s, "\r\n") {
		t.Errorf("Error() = %q", s)
	}
	if s := (&loader.Error{Kind: loader.ErrNoLoad}).Error(); s == "" {
		t.Error("empty message for zero Msg")
	}
}

const helloC = `#include <stdio.h>
int counter = 3;
__thread int tls_var = 5;
int main(void) { printf("hello %d %d\n", counter, tls_var); return 0; }
`

// TestRealBinaries parses programs built by the host toolchain and compares
// the result with debug/elf.
func TestRealBinaries(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "hello.c")
	if err := os.WriteFile(src, []byte(helloC), 0o644); err != nil {
		t.Fatal(err)
	}
	build := func(t *testing.T, out string, args ...string) []byte {
		t.Helper()
		gcc, err := exec.LookPath("gcc")
		if err != nil {
			t.Skip("gcc not found in PATH; skipping real-binary test")
		}
		args = append(args, "-o", out, src)
		cmd := exec.Command(gcc, args...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("gcc %v: %v\n%s", args, err, b)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	t.Run("static", func(t *testing.T) {
		data := build(t, filepath.Join(dir, "x"), "-static", "-O1")
		img := compareWithDebugELF(t, data)
		if img.PIE {
			t.Error("PIE = true for gcc -static")
		}
	})
	t.Run("static-pie", func(t *testing.T) {
		data := build(t, filepath.Join(dir, "xp"), "-static-pie", "-O1")
		img := compareWithDebugELF(t, data)
		if !img.PIE {
			t.Error("PIE = false for gcc -static-pie")
		}
	})
	t.Run("dynamic", func(t *testing.T) {
		data := build(t, filepath.Join(dir, "y"))
		_, err := loader.Parse(data)
		if !errors.Is(err, loader.ErrDynamic) {
			t.Fatalf("Parse(dynamic) = %v, want ErrDynamic", err)
		}
		if !strings.Contains(err.Error(), "ld-linux") || !strings.Contains(err.Error(), "gcc -static") {
			t.Errorf("message %q should name the interpreter and the fix", err)
		}
		t.Logf("dynamic: %v", err)
	})
	t.Run("object", func(t *testing.T) {
		data := build(t, filepath.Join(dir, "o.o"), "-c")
		if _, err := loader.Parse(data); !errors.Is(err, loader.ErrType) {
			t.Fatalf("Parse(.o) = %v, want ErrType", err)
		}
	})
}

// TestGoBinary parses a statically linked Go program, which (unlike gcc
// -static output) carries a PT_PHDR header.
func TestGoBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping go build in -short mode")
	}
	gotool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found in PATH")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\nfunc main() { println(\"hi\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "hello")
	cmd := exec.Command(gotool, "build", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	compareWithDebugELF(t, data)
}

func compareWithDebugELF(t *testing.T, data []byte) *loader.Image {
	t.Helper()
	img, err := loader.Parse(data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("debug/elf: %v", err)
	}
	if img.Entry != f.Entry {
		t.Errorf("Entry = %#x, debug/elf says %#x", img.Entry, f.Entry)
	}
	if img.PIE != (f.Type == elf.ET_DYN) {
		t.Errorf("PIE = %v for type %v", img.PIE, f.Type)
	}
	var loads []*elf.Prog
	var end uint64
	var phdrProg, tlsProg *elf.Prog
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_LOAD:
			if p.Memsz > 0 {
				loads = append(loads, p)
				end = max(end, p.Vaddr+p.Memsz)
			}
		case elf.PT_PHDR:
			phdrProg = p
		case elf.PT_TLS:
			tlsProg = p
		case elf.PT_GNU_STACK:
			if img.ExecStack != (p.Flags&elf.PF_X != 0) {
				t.Errorf("ExecStack = %v, flags %v", img.ExecStack, p.Flags)
			}
		}
	}
	if img.Phnum != uint16(len(f.Progs)) || img.Phent != 56 {
		t.Errorf("Phnum/Phent = %d/%d, debug/elf has %d headers", img.Phnum, img.Phent, len(f.Progs))
	}
	if len(img.Segments) != len(loads) {
		t.Fatalf("%d segments, debug/elf has %d PT_LOADs", len(img.Segments), len(loads))
	}
	for i, p := range loads {
		s := img.Segments[i]
		var prot loader.Prot
		if p.Flags&elf.PF_R != 0 {
			prot |= loader.ProtRead
		}
		if p.Flags&elf.PF_W != 0 {
			prot |= loader.ProtWrite
		}
		if p.Flags&elf.PF_X != 0 {
			prot |= loader.ProtExec
		}
		if s.Vaddr != p.Vaddr || s.Memsz != p.Memsz || s.Offset != p.Off || uint64(len(s.Data)) != p.Filesz || s.Prot != prot {
			t.Errorf("segment %d = {%#x %#x %#x %#x %v}, debug/elf {%#x %#x %#x %#x %v}",
				i, s.Vaddr, s.Memsz, s.Offset, len(s.Data), s.Prot, p.Vaddr, p.Memsz, p.Off, p.Filesz, p.Flags)
		}
		want := make([]byte, p.Filesz)
		if _, err := p.ReadAt(want, 0); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(s.Data, want) {
			t.Errorf("segment %d data differs from debug/elf", i)
		}
	}
	if img.End != end {
		t.Errorf("End = %#x, want %#x", img.End, end)
	}
	if tlsProg != nil && (img.TLS == nil || img.TLS.Vaddr != tlsProg.Vaddr || img.TLS.Memsz != tlsProg.Memsz) {
		t.Errorf("TLS = %+v, debug/elf %+v", img.TLS, tlsProg.ProgHeader)
	}
	if phdrProg != nil && img.PhdrVaddr != phdrProg.Vaddr {
		t.Errorf("PhdrVaddr = %#x, PT_PHDR says %#x", img.PhdrVaddr, phdrProg.Vaddr)
	}
	// Independently of how it was found, the memory image at PhdrVaddr must
	// hold the program header table.
	phoff := binary.LittleEndian.Uint64(data[32:])
	table := data[phoff : phoff+uint64(len(f.Progs))*56]
	if img.PhdrVaddr == 0 {
		t.Fatalf("PhdrVaddr = 0, but gcc/go output maps its headers")
	}
	found := false
	for _, s := range img.Segments {
		if img.PhdrVaddr >= s.Vaddr && img.PhdrVaddr-s.Vaddr+uint64(len(table)) <= uint64(len(s.Data)) {
			off := img.PhdrVaddr - s.Vaddr
			found = bytes.Equal(s.Data[off:off+uint64(len(table))], table)
			break
		}
	}
	if !found {
		t.Errorf("memory at PhdrVaddr %#x does not hold the program header table", img.PhdrVaddr)
	}
	t.Logf("entry %#x, %d segments, phdr %#x, end %#x, pie %v", img.Entry, len(img.Segments), img.PhdrVaddr, img.End, img.PIE)
	return img
}
