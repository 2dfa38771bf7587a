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
			l.text = x86asm.GNUSyntax(inst, base+uint64(pc), nil)
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
