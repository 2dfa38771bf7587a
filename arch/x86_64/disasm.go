package x86

import (
	"fmt"
	"strings"

	"golang.org/x/arch/x86/x86asm"
)

// Disassemble decodes the instructions around rip. code holds guest bytes
// starting at base (base <= rip). It looks for a starting point before rip
// from which decoding lands exactly on rip (x86 has no fixed instruction
// boundaries), shows up to `before` instructions ahead of rip and `after`
// from it, and marks rip's line with "=>".
func Disassemble(code []byte, base, rip uint64, before, after int) string {
	if rip < base || rip-base > uint64(len(code)) {
		return "  (no code bytes available at RIP)\n"
	}
	off := int(rip - base)
	start := off
	// Prefer the earliest start (up to 48 bytes back) that syncs to rip.
	for back := min(off, 48); back > 0; back-- {
		if n := countTo(code[off-back:], back); n > 0 {
			start = off - back
			break
		}
	}
	type line struct {
		addr uint64
		text string
		raw  []byte
	}
	var lines []line
	ripLine := -1
	for pc := start; pc < len(code); {
		inst, err := x86asm.Decode(code[pc:], 64)
		l := line{addr: base + uint64(pc)}
		n := inst.Len
		if err != nil || n == 0 {
			n = 1
			l.text = "(bad)"
		} else {
			l.text = gnuSyntax(inst, code[pc:pc+inst.Len], base+uint64(pc))
		}
		l.raw = code[pc : pc+n]
		if pc == off {
			ripLine = len(lines)
		}
		lines = append(lines, l)
		pc += n
		if ripLine >= 0 && len(lines)-ripLine >= after {
			break
		}
	}
	var b strings.Builder
	for i, l := range lines {
		if ripLine >= 0 && i < ripLine-before {
			continue
		}
		mark := "  "
		if i == ripLine {
			mark = "=>"
		}
		fmt.Fprintf(&b, "%s 0x%x: %-24x %s\n", mark, l.addr, l.raw, l.text)
	}
	return b.String()
}

// Sentinels that stand in for an operand while x86asm formats an
// instruction, replaced in its text afterwards: no displacement or
// immediate of a real instruction has these values.
const (
	zeroDisp = 0x7fedcba987654321
	absMark  = 0x7fedcba987654322
	immMark  = 0x7fedcba987654000 // + the argument's index
)

// gnuSyntax is x86asm's AT&T syntax with the operands as objdump prints
// them. x86asm leaves out a displacement of 0 even where it is the whole
// address, so that `movl $0x0,0x0` would read `movl $0x0,` and
// `mov %fs:0x0,%rax` would read `mov %fs:,%rax`. Here, as in objdump:
//   - a displacement of 0 is shown where the encoding has one: no base
//     register, RIP, RBP or R13 as the base, or a ModRM with mod 01/10
//     (`nopl 0x0(%rax)`);
//   - an absolute address is unsigned (`%fs:0xffffffffffffffc0`);
//   - an index with scale 1 shows the 1, a SIB byte with no index shows
//     none (`(%rdx,%rax,1)`, `(%r12)`);
//   - an immediate is unsigned in its operand's width (`$0xffffffff`,
//     not `$-0x1`);
//   - the mov forms with a 64-bit address or immediate are movabs.
//
// code holds the instruction's bytes.
func gnuSyntax(inst x86asm.Inst, code []byte, pc uint64) string {
	width := operandBits(inst)
	var repl []string
	var scale1 []string
	for i, a := range inst.Args {
		switch a := a.(type) {
		case x86asm.Mem:
			m := a
			if m.Disp == 0 {
				switch m.Base {
				case 0, x86asm.RIP, x86asm.RBP, x86asm.R13, x86asm.EBP, x86asm.R13L:
					m.Disp = zeroDisp
				default:
					if modrmDisp(code) {
						m.Disp = zeroDisp
					}
				}
				if m.Disp == zeroDisp {
					repl = append(repl, fmt.Sprintf("%#x", zeroDisp), "0x0")
				}
			}
			if m.Disp < 0 && m.Base == 0 && m.Index == 0 && inst.AddrSize == 64 {
				// An absolute address (%fs:-0x40): unsigned.
				repl = append(repl, fmt.Sprintf("%#x", absMark), fmt.Sprintf("%#x", uint64(m.Disp)))
				m.Disp = absMark
			}
			if m.Index == 0 && m.Scale == 1 {
				m.Scale = 0 // a SIB byte with no index: (%r12), not (%r12,%riz)
			}
			if m.Index != 0 && m.Scale == 1 {
				scale1 = append(scale1, ","+gnuReg(m.Index)+")")
			}
			inst.Args[i] = m
		case x86asm.Imm:
			if a < 0 && width > 0 {
				mark := x86asm.Imm(immMark + i)
				u := uint64(a)
				if width < 64 {
					u &= 1<<width - 1
				}
				repl = append(repl, fmt.Sprintf("$%#x", int64(mark)), fmt.Sprintf("$%#x", u))
				inst.Args[i] = mark
			}
		}
	}
	s := x86asm.GNUSyntax(inst, pc, nil)
	s = strings.NewReplacer(repl...).Replace(s)
	for _, idx := range scale1 {
		s = strings.Replace(s, idx, strings.TrimSuffix(idx, ")")+",1)", 1)
	}
	if inst.Op == x86asm.MOV {
		op := inst.Opcode >> 24
		moffs := op >= 0xa0 && op <= 0xa3 && inst.AddrSize == 64
		imm64 := op >= 0xb8 && op <= 0xbf && inst.DataSize == 64
		if moffs || imm64 {
			s = strings.Replace(s, "mov ", "movabs ", 1)
		}
	}
	return s
}

// operandBits is the width objdump prints an instruction's immediate in:
// that of its memory operand, else of its widest general register, else
// its operand size (0: unknown).
func operandBits(inst x86asm.Inst) int {
	bits := 0
	for _, a := range inst.Args {
		switch a := a.(type) {
		case x86asm.Mem:
			return inst.MemBytes * 8
		case x86asm.Reg:
			switch {
			case a >= x86asm.AL && a <= x86asm.R15B:
				bits = max(bits, 8)
			case a >= x86asm.AX && a <= x86asm.R15W:
				bits = max(bits, 16)
			case a >= x86asm.EAX && a <= x86asm.R15L:
				bits = max(bits, 32)
			case a >= x86asm.RAX && a <= x86asm.R15:
				bits = max(bits, 64)
			}
		}
	}
	if bits == 0 {
		bits = inst.DataSize
	}
	return bits
}

// modrmDisp reports whether a legacy-encoded instruction (prefixes, REX,
// a one-, two- or three-byte opcode, then ModRM) has a ModRM with mod 01
// or 10, that is an encoded displacement. VEX and EVEX encodings, and the
// opcodes without a ModRM that take a memory operand, report false.
func modrmDisp(code []byte) bool {
	i := 0
	for i < len(code) {
		switch code[i] {
		case 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3:
			i++
			continue
		}
		break
	}
	if i < len(code) && code[i]&0xf0 == 0x40 {
		i++ // REX
	}
	if i >= len(code) {
		return false
	}
	switch op := code[i]; {
	case op == 0xc4 || op == 0xc5 || op == 0x62:
		return false // VEX, EVEX
	case op == 0x0f:
		i++
		if i < len(code) && (code[i] == 0x38 || code[i] == 0x3a) {
			i++
		}
	case op >= 0xa0 && op <= 0xaf, op >= 0x6c && op <= 0x6f, op == 0xd7:
		return false // moffs, string instructions, xlat: no ModRM
	}
	i++
	if i >= len(code) {
		return false
	}
	mod := code[i] >> 6
	return mod == 1 || mod == 2
}

// gnuReg is an index register's AT&T name: %rax, %r8, %eax, %r8d.
func gnuReg(r x86asm.Reg) string {
	n := strings.ToLower(r.String())
	if r >= x86asm.R8L && r <= x86asm.R15L {
		n = strings.TrimSuffix(n, "l") + "d"
	}
	return "%" + n
}

// countTo decodes code linearly and returns how many instructions end
// exactly at offset target (0 if decoding does not land on it).
func countTo(code []byte, target int) int {
	n := 0
	for pc := 0; pc < target; n++ {
		inst, err := x86asm.Decode(code[pc:], 64)
		if err != nil || inst.Len == 0 {
			return 0
		}
		pc += inst.Len
		if pc > target {
			return 0
		}
	}
	return n
}
