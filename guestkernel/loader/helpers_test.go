package loader_test

import (
	"encoding/binary"
)

// ph is one program header for the test ELF builder.
type ph struct {
	typ, flags                       uint32
	off, vaddr, filesz, memsz, align uint64
}

// spec describes a test ELF file; build turns it into bytes.
type spec struct {
	class, data, version byte
	typ, machine         uint16
	entry, phoff         uint64
	phentsize            uint16
	phnum                int // -1: len(phdrs)
	phdrs                []ph
	size                 int // total file size
	interp               string
	interpOff            uint64
}

const (
	ptLoad     = 1
	ptInterp   = 3
	ptPhdr     = 6
	ptTLS      = 7
	ptGNUStack = 0x6474e551
	pfX        = 1
	pfW        = 2
	pfR        = 4
)

// baseSpec is a small valid static ET_EXEC laid out like gcc -static output:
// a read-only segment holding the headers, text, and a data+bss segment that
// starts on the page where text ends.
func baseSpec() spec {
	return spec{
		class: 2, data: 1, version: 1,
		typ: 2, machine: 62,
		entry: 0x401010, phoff: 64, phentsize: 56, phnum: -1,
		phdrs: []ph{
			{typ: ptLoad, flags: pfR, off: 0, vaddr: 0x400000, filesz: 0x200, memsz: 0x200, align: 0x1000},
			{typ: ptLoad, flags: pfR | pfX, off: 0x1000, vaddr: 0x401000, filesz: 0x100, memsz: 0x100, align: 0x1000},
			{typ: ptLoad, flags: pfR | pfW, off: 0x1100, vaddr: 0x401100, filesz: 0x80, memsz: 0x300, align: 0x1000},
			{typ: ptTLS, flags: pfR, off: 0x1100, vaddr: 0x401100, filesz: 0x10, memsz: 0x20, align: 8},
			{typ: ptGNUStack, flags: pfR | pfW, align: 16},
		},
		size: 0x1180,
	}
}

// compactSpec is a valid ET_EXEC that fits in 0x1c0 bytes (no page-aligned
// file offsets, only page-congruent ones), which the fuzzer mutates well.
func compactSpec() spec {
	return spec{
		class: 2, data: 1, version: 1,
		typ: 2, machine: 62,
		entry: 0x401120, phoff: 64, phentsize: 56, phnum: -1,
		phdrs: []ph{
			{typ: ptLoad, flags: pfR, off: 0, vaddr: 0x400000, filesz: 0x100, memsz: 0x100, align: 0x1000},
			{typ: ptLoad, flags: pfR | pfX, off: 0x100, vaddr: 0x401100, filesz: 0x80, memsz: 0x80, align: 0x1000},
			{typ: ptLoad, flags: pfR | pfW, off: 0x180, vaddr: 0x402180, filesz: 0x40, memsz: 0x100, align: 0x1000},
		},
		size: 0x1c0,
	}
}

// pieSpec is baseSpec turned into a static-pie (ET_DYN linked at 0).
func pieSpec() spec {
	s := baseSpec()
	s.typ = 3
	s.entry -= 0x400000
	for i := range s.phdrs {
		if s.phdrs[i].vaddr != 0 {
			s.phdrs[i].vaddr -= 0x400000
		}
	}
	return s
}

func (s spec) build() []byte {
	size := s.size
	if min := int(s.phoff) + 56*len(s.phdrs); s.phoff < 1<<20 && size < min {
		size = min
	}
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i*7 + 3) // recognisable, non-zero file contents
	}
	copy(b, []byte{0x7f, 'E', 'L', 'F', s.class, s.data, s.version})
	for i := 7; i < 16; i++ {
		b[i] = 0
	}
	le := binary.LittleEndian
	le.PutUint16(b[16:], s.typ)
	le.PutUint16(b[18:], s.machine)
	le.PutUint32(b[20:], 1)
	le.PutUint64(b[24:], s.entry)
	le.PutUint64(b[32:], s.phoff)
	le.PutUint64(b[40:], 0)
	le.PutUint32(b[48:], 0)
	le.PutUint16(b[52:], 64)
	le.PutUint16(b[54:], s.phentsize)
	n := s.phnum
	if n < 0 {
		n = len(s.phdrs)
	}
	le.PutUint16(b[56:], uint16(n))
	le.PutUint16(b[58:], 64)
	le.PutUint16(b[60:], 0)
	le.PutUint16(b[62:], 0)
	if s.phoff < uint64(len(b)) {
		for i, p := range s.phdrs {
			o := int(s.phoff) + i*56
			if o+56 > len(b) {
				break
			}
			h := b[o : o+56]
			le.PutUint32(h[0:], p.typ)
			le.PutUint32(h[4:], p.flags)
			le.PutUint64(h[8:], p.off)
			le.PutUint64(h[16:], p.vaddr)
			le.PutUint64(h[24:], p.vaddr)
			le.PutUint64(h[32:], p.filesz)
			le.PutUint64(h[40:], p.memsz)
			le.PutUint64(h[48:], p.align)
		}
	}
	if s.interp != "" && int(s.interpOff)+len(s.interp) <= len(b) {
		copy(b[s.interpOff:], s.interp)
	}
	return b
}

// withInterp adds a PT_INTERP naming the usual x86-64 dynamic linker.
func withInterp(s spec) spec {
	const path = "/lib64/ld-linux-x86-64.so.2\x00"
	s.interp = path
	s.interpOff = 0x1c0
	s.phdrs = append([]ph{{typ: ptInterp, flags: pfR, off: 0x1c0, vaddr: s.phdrs[0].vaddr + 0x1c0, filesz: uint64(len(path)), memsz: uint64(len(path)), align: 1}}, s.phdrs...)
	return s
}
