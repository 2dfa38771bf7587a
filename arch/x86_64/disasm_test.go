package x86

import (
	"strings"
	"testing"
)

// disasmLines splits Disassemble's output into lines, dropping the final
// empty one.
func disasmLines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func markedLines(lines []string) []int {
	var m []int
	for i, l := range lines {
		if strings.HasPrefix(l, "=>") {
			m = append(m, i)
		}
	}
	return m
}

func TestDisassemble(t *testing.T) {
	const base = 0x401000
	// mov $1,%eax; ud2; nop
	prog := []byte{0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f, 0x0b, 0x90}
	nops := make([]byte, 10)
	for i := range nops {
		nops[i] = 0x90
	}
	tests := []struct {
		name          string
		code          []byte
		rip           uint64
		before, after int
		// want holds a substring per output line, in order; the marked
		// line is the one at index mark (-1: no marked line).
		want []string
		mark int
	}{
		{
			name: "ud2 with context", code: prog, rip: base + 5, before: 4, after: 4,
			want: []string{"0x401000: b801000000", "0x401005: 0f0b", "0x401007: 90"},
			mark: 1,
		},
		{
			name: "rip at base", code: prog, rip: base, before: 4, after: 4,
			want: []string{"mov $0x1,%eax", "ud2", "nop"},
			mark: 0,
		},
		{
			name: "after limits the lines from rip", code: prog, rip: base, before: 4, after: 2,
			want: []string{"mov", "ud2"},
			mark: 0,
		},
		{
			name: "before and after window", code: nops, rip: base + 5, before: 2, after: 3,
			want: []string{"0x401003:", "0x401004:", "0x401005:", "0x401006:", "0x401007:"},
			mark: 2,
		},
		{
			// rip inside the mov's immediate: the earliest start that
			// decodes onto rip is base+1 (two nops from 0x90 0x90).
			name: "resync inside an instruction", code: []byte{0xb8, 0x90, 0x90, 0x90, 0x90, 0x0f, 0x0b},
			rip: base + 3, before: 8, after: 1,
			want: []string{"0x401001: 90", "0x401002: 90", "0x401003: 90"},
			mark: 2,
		},
		{
			// 0x06 (push %es) is invalid in 64-bit mode: shown as (bad),
			// and decoding resumes at the next byte.
			name: "undecodable byte at rip", code: []byte{0x90, 0x06, 0x90}, rip: base + 1, before: 4, after: 4,
			want: []string{"0x401000: 90", "(bad)", "0x401002: 90"},
			mark: 1,
		},
		{
			name: "truncated instruction", code: []byte{0x90, 0xb8, 0x01}, rip: base + 1, before: 4, after: 4,
			// x86asm reports a truncated instruction as a one-byte
			// pseudo-op without an error; only check the bytes.
			want: []string{"0x401000: 90", "0x401001: b8 ", "0x401002: 01 "},
			mark: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := Disassemble(tc.code, base, tc.rip, tc.before, tc.after)
			lines := disasmLines(out)
			if len(lines) != len(tc.want) {
				t.Fatalf("%d lines, want %d:\n%s", len(lines), len(tc.want), out)
			}
			for i, w := range tc.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("line %d = %q, want it to contain %q", i, lines[i], w)
				}
			}
			m := markedLines(lines)
			if len(m) != 1 || m[0] != tc.mark {
				t.Errorf("marked lines %v, want [%d]:\n%s", m, tc.mark, out)
			}
			for i, l := range lines {
				if i != tc.mark && !strings.HasPrefix(l, "   0x") {
					t.Errorf("unmarked line %d = %q, want it indented", i, l)
				}
			}
		})
	}
}

func TestDisassembleMarksRipLine(t *testing.T) {
	// The brief's example: the "=>" line is the ud2 and the mov before
	// it is shown.
	prog := []byte{0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f, 0x0b, 0x90}
	out := Disassemble(prog, 0x1000, 0x1005, 3, 3)
	lines := disasmLines(out)
	m := markedLines(lines)
	if len(m) != 1 {
		t.Fatalf("want exactly one => line:\n%s", out)
	}
	if !strings.HasSuffix(lines[m[0]], "ud2") || !strings.HasPrefix(lines[m[0]], "=> 0x1005:") {
		t.Errorf("marked line %q, want the ud2 at 0x1005", lines[m[0]])
	}
	if m[0] == 0 || !strings.Contains(lines[m[0]-1], "mov $0x1,%eax") {
		t.Errorf("the mov before rip is not shown:\n%s", out)
	}
}

func TestDisassembleOutsideBuffer(t *testing.T) {
	code := []byte{0x90, 0x90, 0x0f, 0x0b}
	const base = 0x2000
	const none = "(no code bytes available at RIP)"
	for _, rip := range []uint64{0, base - 1, base + uint64(len(code)) + 1, ^uint64(0)} {
		out := Disassemble(code, base, rip, 4, 4)
		if !strings.Contains(out, none) {
			t.Errorf("rip %#x outside [%#x,%#x): got %q, want %q", rip, base, base+len(code), out, none)
		}
	}
	// Empty code and a rip right at the end of the buffer must not panic
	// and must not mark a line: there is no instruction at rip.
	for _, tc := range []struct {
		code []byte
		rip  uint64
	}{
		{nil, base},
		{code, base + uint64(len(code))},
	} {
		out := Disassemble(tc.code, base, tc.rip, 4, 4)
		if m := markedLines(disasmLines(out)); len(m) != 0 {
			t.Errorf("code % x, rip %#x: marked a line:\n%s", tc.code, tc.rip, out)
		}
	}
}

func TestDisassembleGarbageDoesNotPanic(t *testing.T) {
	// Every single-byte value and a few nasty patterns, at every rip.
	var bufs [][]byte
	for b := 0; b < 256; b++ {
		bufs = append(bufs, []byte{byte(b), byte(b), byte(b), byte(b)})
	}
	bufs = append(bufs,
		[]byte{0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x90},
		[]byte{0x0f},
		[]byte{0x62, 0xf1, 0x7d, 0x48}, // truncated EVEX
		[]byte{0xc4, 0xe2},             // truncated VEX
	)
	for _, code := range bufs {
		for off := 0; off <= len(code); off++ {
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("Disassemble(% x, rip=+%d) panicked: %v", code, off, r)
					}
				}()
				out := Disassemble(code, 0x1000, 0x1000+uint64(off), 8, 8)
				if off < len(code) && len(markedLines(disasmLines(out))) != 1 {
					t.Errorf("Disassemble(% x, rip=+%d): want one marked line:\n%s", code, off, out)
				}
			}()
		}
	}
}

// TestDisassembleOperands: every operand is printed, as objdump -d prints
// it (binutils 2.40), including a displacement of 0 that is the whole
// address.
func TestDisassembleOperands(t *testing.T) {
	for _, tc := range []struct {
		code []byte
		want string
	}{
		{[]byte{0xc7, 0x04, 0x25, 0, 0, 0, 0, 0, 0, 0, 0}, "movl $0x0,0x0"},
		{[]byte{0xc6, 0x04, 0x25, 0, 0, 0, 0, 0x2a}, "movb $0x2a,0x0"},
		{[]byte{0x89, 0x04, 0x25, 0, 0, 0, 0}, "mov %eax,0x0"},
		{[]byte{0x64, 0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0}, "mov %fs:0x0,%rax"},
		{[]byte{0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0, 0, 0}, "mov %fs:0x28,%rax"},
		{[]byte{0x48, 0x8d, 0x14, 0xc5, 0, 0, 0, 0}, "lea 0x0(,%rax,8),%rdx"},
		{[]byte{0x48, 0x8b, 0x04, 0xc5, 0, 0, 0, 0}, "mov 0x0(,%rax,8),%rax"},
		{[]byte{0xa0, 0, 0, 0, 0, 0, 0, 0, 0}, "movabs 0x0,%al"},
		{[]byte{0x48, 0x8b, 0x05, 0, 0, 0, 0}, "mov 0x0(%rip),%rax"},
		{[]byte{0xc7, 0x04, 0x25, 0x00, 0xd0, 0xea, 0x0d, 0x2a, 0, 0, 0}, "movl $0x2a,0xdead000"},
		{[]byte{0x48, 0x8b, 0x45, 0x00}, "mov 0x0(%rbp),%rax"},
		{[]byte{0x43, 0x0f, 0xbe, 0x44, 0x05, 0x00}, "movsbl 0x0(%r13,%r8,1),%eax"},
		{[]byte{0x0f, 0xb6, 0x1c, 0x02}, "movzbl (%rdx,%rax,1),%ebx"},
		{[]byte{0x48, 0xba, 0x01, 0, 0x48, 0, 0x48, 0, 0, 0}, "movabs $0x4800480001,%rdx"},
		{[]byte{0x64, 0x48, 0x8b, 0x34, 0x25, 0xc0, 0xff, 0xff, 0xff}, "mov %fs:0xffffffffffffffc0,%rsi"},
		{[]byte{0x0f, 0x1f, 0x40, 0x00}, "nopl 0x0(%rax)"},
		{[]byte{0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00}, "nopw 0x0(%rax,%rax,1)"},
		{[]byte{0x49, 0x8b, 0x3c, 0x24}, "mov (%r12),%rdi"},
		{[]byte{0x48, 0x83, 0xe4, 0xf0}, "and $0xfffffffffffffff0,%rsp"},
		{[]byte{0xba, 0xab, 0xaa, 0xaa, 0xaa}, "mov $0xaaaaaaab,%edx"},
		{[]byte{0x48, 0xc7, 0x44, 0x24, 0x08, 0xff, 0xff, 0xff, 0xff}, "movq $0xffffffffffffffff,0x8(%rsp)"},
		{[]byte{0x80, 0x38, 0xff}, "cmpb $0xff,(%rax)"},
		{[]byte{0x41, 0x83, 0xcf, 0xff}, "or $0xffffffff,%r15d"},
		// A base register with no displacement: nothing to add.
		{[]byte{0x8b, 0x00}, "mov (%rax),%eax"},
		{[]byte{0x48, 0x8b, 0x04, 0x24}, "mov (%rsp),%rax"},
		{[]byte{0x48, 0x8b, 0x45, 0xf8}, "mov -0x8(%rbp),%rax"},
	} {
		out := Disassemble(tc.code, 0x401000, 0x401000, 0, 1)
		lines := disasmLines(out)
		if len(lines) != 1 || !strings.HasSuffix(lines[0], " "+tc.want) {
			t.Errorf("% x: got %q, want the line to end in %q", tc.code, out, tc.want)
		}
	}
}
