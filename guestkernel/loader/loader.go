// Package loader parses static x86-64 ELF64 executables for the nsvm
// micro-VM, which runs unmodified "gcc -static" (and "gcc -static-pie")
// Linux programs. It only parses and validates: the caller maps the
// segments into guest memory, picks a load bias for position-independent
// images, and builds the initial stack and auxiliary vector.
//
// The checks model what Linux's fs/binfmt_elf.c load_elf_binary does before
// it commits to an exec, so a file accepted here is one Linux would also
// start:
//
//   - A bad ELF identification, a wrong e_machine or an e_type other than
//     ET_EXEC/ET_DYN make Linux return ENOEXEC ("Exec format error"). We
//     report ErrNotELF, ErrClass, ErrEndian, ErrMachine or ErrType.
//   - Linux insists that e_phentsize equals sizeof(Elf64_Phdr) (56) and that
//     the table is non-empty and at most 64 KiB, otherwise ENOEXEC. We cap
//     e_phnum at 512 (real static programs have about 10-14 entries), and
//     we do not support PN_XNUM (0xffff, count stored in section header 0),
//     which Linux does not support for executables either.
//   - A PT_INTERP header makes Linux load the named dynamic linker. nsvm has
//     no dynamic linker, so such files are refused with ErrDynamic, whether
//     they are ET_EXEC or ET_DYN (an ordinary PIE).
//   - For each PT_LOAD, Linux rejects p_filesz > p_memsz and segments that
//     reach past TASK_SIZE with EINVAL, and mmap fails with EINVAL when
//     p_vaddr and p_offset are not congruent modulo the page size. We report
//     all of these as ErrBadSegment, using MaxUserAddr as TASK_SIZE. A
//     segment whose file bytes lie past the end of the file gives a SIGBUS
//     on first touch under Linux; we reject it up front as ErrTruncated.
//   - Linux maps PT_LOAD segments with MAP_FIXED in header order, so
//     overlapping segments silently clobber each other. We are stricter and
//     reject any overlap of the exact [p_vaddr, p_vaddr+p_memsz) ranges,
//     since no linker produces it and it makes the memory image depend on
//     header order. Two segments may still share one page (gcc -static puts
//     .data on the page where a read-only segment ends); that is accepted.
//   - Linux does not check e_entry beyond it being below TASK_SIZE, so a bad
//     entry point shows up as a SIGSEGV on the first instruction. We require
//     it to lie inside an executable PT_LOAD so the user gets a clear error.
//   - We refuse images whose PT_LOAD sizes add up to more than 64 GiB, or
//     (for ET_DYN) whose address span exceeds 64 GiB, because the VM has to
//     back them with real memory and a bias has to be found for them.
//   - Linux derives AT_PHDR from the PT_LOAD that contains e_phoff. We take
//     PT_PHDR first when it is present (it must then lie inside a PT_LOAD)
//     and fall back to the same computation as Linux otherwise.
//
// Program header indexes in error messages are the positions in the file's
// program header table, as readelf -l numbers them (from 0), so that users
// can look them up.
//
// Parse never panics and every addition on untrusted values is overflow
// checked; FuzzParse exercises that.
package loader

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// PageSize is the x86-64 page size that segment file offsets and addresses
// must be congruent modulo.
const PageSize = 4096

// MaxUserAddr is the top of the x86-64 user address space (Linux's
// TASK_SIZE with 4-level paging). No segment may reach past it.
const MaxUserAddr = 0x7ffffffff000

// maxImageSize bounds the total memory size of all PT_LOAD segments and, for
// ET_DYN images, the span from the lowest to the highest mapped address.
const maxImageSize = 1 << 36

// maxPhnum bounds the number of program headers we accept.
const maxPhnum = 512

// ELF constants used by the parser (see the System V gABI and the x86-64
// psABI).
const (
	ehdrSize = 64 // sizeof(Elf64_Ehdr)
	phdrSize = 56 // sizeof(Elf64_Phdr)

	eiClass   = 4
	eiData    = 5
	eiVersion = 6
	eiNident  = 16

	elfClass32  = 1
	elfClass64  = 2
	elfData2LSB = 1
	elfData2MSB = 2
	evCurrent   = 1

	etRel  = 1
	etExec = 2
	etDyn  = 3
	etCore = 4

	emX86_64 = 62

	pnXnum = 0xffff

	ptLoad     = 1
	ptInterp   = 3
	ptPhdr     = 6
	ptTLS      = 7
	ptGNUStack = 0x6474e551

	pfX = 1
	pfW = 2
	pfR = 4
)

// Prot is a set of memory protection bits for a segment.
type Prot uint8

// Protection bits. Note that they do not have the same values as the ELF
// PF_R, PF_W and PF_X flags; Parse converts between the two.
const (
	ProtRead Prot = 1 << iota
	ProtWrite
	ProtExec
)

// String returns the protection in "rwx" notation, with '-' for a missing
// permission, e.g. "r-x".
func (p Prot) String() string {
	b := []byte("---")
	if p&ProtRead != 0 {
		b[0] = 'r'
	}
	if p&ProtWrite != 0 {
		b[1] = 'w'
	}
	if p&ProtExec != 0 {
		b[2] = 'x'
	}
	return string(b)
}

// Segment describes one PT_LOAD (or the PT_TLS) program header.
type Segment struct {
	Vaddr  uint64 // p_vaddr (unbiased for PIE)
	Memsz  uint64 // p_memsz; bytes past len(Data) are zero-filled (bss)
	Offset uint64 // p_offset
	Data   []byte // the file bytes, len == p_filesz (a sub-slice of the input)
	Prot   Prot
}

// Image is the result of parsing an executable.
type Image struct {
	Entry     uint64    // e_entry (unbiased)
	PIE       bool      // ET_DYN without PT_INTERP (static-pie); the caller picks a load bias
	Segments  []Segment // PT_LOAD only, sorted by Vaddr, non-overlapping, Memsz > 0
	PhdrVaddr uint64    // address of the program header table in memory (unbiased), for AT_PHDR; 0 if it is not mapped
	Phent     uint16    // e_phentsize (always 56), for AT_PHENT
	Phnum     uint16    // e_phnum, for AT_PHNUM
	End       uint64    // highest Vaddr+Memsz over PT_LOAD (unbiased); brk starts at PageUp(End)
	TLS       *Segment  // PT_TLS if present (informational)
	ExecStack bool      // PT_GNU_STACK with PF_X; false when PT_GNU_STACK is absent
}

// ErrKind classifies a parse failure. It implements error, and *Error
// unwraps to its Kind, so callers test for a class of failure with
// errors.Is(err, loader.ErrDynamic) (or extract it with errors.As).
type ErrKind int

// The kinds of parse failure.
const (
	ErrNotELF     ErrKind = iota + 1 // not an ELF file (bad magic or identification)
	ErrClass                         // not ELFCLASS64
	ErrEndian                        // not little endian
	ErrMachine                       // not EM_X86_64
	ErrType                          // not ET_EXEC or ET_DYN (e.g. ET_REL, ET_CORE)
	ErrDynamic                       // has PT_INTERP: needs a dynamic linker
	ErrTruncated                     // a header or segment lies past the end of the file
	ErrBadSegment                    // malformed program header table or segment, or bad entry point
	ErrNoLoad                        // no (non-empty) PT_LOAD segment
)

// Error returns a short description of the kind.
func (k ErrKind) Error() string {
	switch k {
	case ErrNotELF:
		return "not an ELF file"
	case ErrClass:
		return "not a 64-bit ELF file"
	case ErrEndian:
		return "not a little-endian ELF file"
	case ErrMachine:
		return "ELF file is not for x86-64"
	case ErrType:
		return "ELF file is not an executable"
	case ErrDynamic:
		return "dynamically linked executable"
	case ErrTruncated:
		return "truncated ELF file"
	case ErrBadSegment:
		return "malformed ELF program header"
	case ErrNoLoad:
		return "ELF file has no loadable segment"
	}
	return "invalid ELF file"
}

// Error is the error type returned by Parse.
type Error struct {
	Kind ErrKind
	Msg  string // one line, for the user
}

// Error returns the message as a single line.
func (e *Error) Error() string {
	msg := e.Msg
	if msg == "" {
		msg = e.Kind.Error()
	}
	if strings.ContainsAny(msg, "\r\n") {
		msg = strings.NewReplacer("\r", " ", "\n", " ").Replace(msg)
	}
	return msg
}

// Unwrap returns e.Kind, which makes errors.Is(err, ErrDynamic) work.
func (e *Error) Unwrap() error { return e.Kind }

func errorf(k ErrKind, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// phdr is a decoded Elf64_Phdr.
type phdr struct {
	typ    uint32
	flags  uint32
	offset uint64
	vaddr  uint64
	filesz uint64
	memsz  uint64
}

func (p *phdr) prot() Prot {
	var r Prot
	if p.flags&pfR != 0 {
		r |= ProtRead
	}
	if p.flags&pfW != 0 {
		r |= ProtWrite
	}
	if p.flags&pfX != 0 {
		r |= ProtExec
	}
	return r
}

// loadSeg is a validated PT_LOAD with its program header index.
type loadSeg struct {
	idx int
	seg Segment
	end uint64 // Vaddr + Memsz, known not to overflow
}

var le = binary.LittleEndian

// Parse validates data as a static x86-64 ELF64 executable and describes
// its memory image. The returned Segments alias data. On failure the error
// is an *Error whose Kind says what is wrong.
func Parse(data []byte) (*Image, error) {
	size := uint64(len(data))
	if err := checkIdent(data); err != nil {
		return nil, err
	}
	if size < ehdrSize {
		return nil, errorf(ErrTruncated, "truncated ELF: file is 0x%x bytes, shorter than the 64-byte ELF header", size)
	}
	typ := le.Uint16(data[16:])
	machine := le.Uint16(data[18:])
	entry := le.Uint64(data[24:])
	phoff := le.Uint64(data[32:])
	phentsize := le.Uint16(data[54:])
	phnum := le.Uint16(data[56:])

	if machine != emX86_64 {
		return nil, errorf(ErrMachine, "ELF for machine %s (%d), not x86-64", machineName(machine), machine)
	}
	switch typ {
	case etExec, etDyn:
	case etRel:
		return nil, errorf(ErrType, "relocatable object file (ET_REL), not an executable; link it first")
	case etCore:
		return nil, errorf(ErrType, "core dump (ET_CORE), not an executable")
	default:
		return nil, errorf(ErrType, "ELF file type %d is not an executable (want ET_EXEC or ET_DYN)", typ)
	}

	switch {
	case phnum == 0:
		return nil, errorf(ErrNoLoad, "ELF executable has no program headers")
	case phnum == pnXnum:
		return nil, errorf(ErrBadSegment, "extended program header count (e_phnum 0xffff, PN_XNUM) is not supported")
	case phnum > maxPhnum:
		return nil, errorf(ErrBadSegment, "too many program headers: %d (at most %d)", phnum, maxPhnum)
	case phentsize != phdrSize:
		return nil, errorf(ErrBadSegment, "program header entry size is %d bytes, want %d", phentsize, phdrSize)
	}
	tableSize := uint64(phnum) * phdrSize // at most 512*56, cannot overflow
	if phoff > size {
		return nil, errorf(ErrTruncated, "truncated ELF: program header table starts at 0x%x past end of file (0x%x bytes)", phoff, size)
	}
	if size-phoff < tableSize {
		i := (size - phoff) / phdrSize // first header that does not fit
		return nil, errorf(ErrTruncated, "truncated ELF: program header %d ends at 0x%x past end of file (0x%x bytes)", i, phoff+(i+1)*phdrSize, size)
	}

	phdrs := make([]phdr, phnum)
	for i := range phdrs {
		b := data[phoff+uint64(i)*phdrSize:][:phdrSize]
		phdrs[i] = phdr{
			typ:    le.Uint32(b[0:]),
			flags:  le.Uint32(b[4:]),
			offset: le.Uint64(b[8:]),
			vaddr:  le.Uint64(b[16:]),
			filesz: le.Uint64(b[32:]),
			memsz:  le.Uint64(b[40:]),
		}
	}

	// A dynamic executable is the most likely mistake; report it before
	// anything else about the segments.
	for i := range phdrs {
		if phdrs[i].typ == ptInterp {
			return nil, errorf(ErrDynamic, "dynamically linked executable (PT_INTERP %s); build it with gcc -static", interpName(data, &phdrs[i]))
		}
	}

	img := &Image{
		Entry: entry,
		PIE:   typ == etDyn,
		Phent: phentsize,
		Phnum: phnum,
	}

	var loads []loadSeg
	var total uint64
	var phdrHdr *phdr
	phdrIdx := -1
	for i := range phdrs {
		p := &phdrs[i]
		switch p.typ {
		case ptLoad:
			ls, err := checkLoad(data, i, p)
			if err != nil {
				return nil, err
			}
			if ls.seg.Memsz == 0 {
				continue
			}
			if ls.seg.Memsz > maxImageSize {
				return nil, errorf(ErrBadSegment, "segment %d is too large: memsz 0x%x exceeds 0x%x (64 GiB)", i, ls.seg.Memsz, uint64(maxImageSize))
			}
			total += ls.seg.Memsz // each term <= 2^36 and at most 512 terms: no overflow
			if total > maxImageSize {
				return nil, errorf(ErrBadSegment, "segments are too large: total memsz 0x%x exceeds 0x%x (64 GiB)", total, uint64(maxImageSize))
			}
			loads = append(loads, ls)
		case ptTLS:
			if img.TLS != nil {
				return nil, errorf(ErrBadSegment, "program header %d is a second PT_TLS", i)
			}
			tls, err := checkTLS(data, i, p)
			if err != nil {
				return nil, err
			}
			img.TLS = tls
		case ptPhdr:
			if phdrHdr != nil {
				return nil, errorf(ErrBadSegment, "program header %d is a second PT_PHDR", i)
			}
			phdrHdr, phdrIdx = p, i
		case ptGNUStack:
			img.ExecStack = p.flags&pfX != 0
		}
	}
	if len(loads) == 0 {
		return nil, errorf(ErrNoLoad, "ELF executable has no loadable (PT_LOAD) segment")
	}

	sort.SliceStable(loads, func(a, b int) bool { return loads[a].seg.Vaddr < loads[b].seg.Vaddr })
	for k := 1; k < len(loads); k++ {
		a, b := &loads[k-1], &loads[k]
		if a.end > b.seg.Vaddr {
			return nil, errorf(ErrBadSegment, "segments %d and %d overlap: [0x%x,0x%x) and [0x%x,0x%x)",
				a.idx, b.idx, a.seg.Vaddr, a.end, b.seg.Vaddr, b.end)
		}
	}
	// Sorted and non-overlapping, so the last segment ends highest.
	img.End = loads[len(loads)-1].end
	if img.PIE {
		lo := loads[0].seg.Vaddr &^ (PageSize - 1)
		if span := img.End - lo; span > maxImageSize {
			return nil, errorf(ErrBadSegment, "position-independent image spans 0x%x bytes ([0x%x,0x%x)), more than 0x%x (64 GiB)", span, lo, img.End, uint64(maxImageSize))
		}
	}

	img.Segments = make([]Segment, len(loads))
	for k := range loads {
		img.Segments[k] = loads[k].seg
	}

	if err := checkEntry(img, loads); err != nil {
		return nil, err
	}

	if phdrHdr != nil {
		v := phdrHdr.vaddr
		if v > MaxUserAddr || MaxUserAddr-v < tableSize || findContaining(loads, v, v+tableSize) < 0 {
			return nil, errorf(ErrBadSegment, "program header %d (PT_PHDR) at 0x%x is not inside a loadable segment", phdrIdx, v)
		}
		img.PhdrVaddr = v
	} else {
		// Like Linux: the PT_LOAD whose file bytes hold the table.
		for k := range loads {
			s := &loads[k].seg
			if phoff >= s.Offset && phoff-s.Offset <= uint64(len(s.Data)) &&
				uint64(len(s.Data))-(phoff-s.Offset) >= tableSize {
				img.PhdrVaddr = s.Vaddr + (phoff - s.Offset) // inside [Vaddr, Vaddr+Memsz): no overflow
				break
			}
		}
	}
	return img, nil
}

// checkIdent validates the magic and e_ident fields.
func checkIdent(data []byte) error {
	magic := []byte{0x7f, 'E', 'L', 'F'}
	n := min(len(data), len(magic))
	for i := 0; i < n; i++ {
		if data[i] != magic[i] {
			return errorf(ErrNotELF, "not an ELF file (bad magic % x)", data[:n])
		}
	}
	if len(data) == 0 {
		return errorf(ErrNotELF, "not an ELF file (file is empty)")
	}
	if len(data) < eiNident {
		return errorf(ErrTruncated, "truncated ELF: file is only 0x%x bytes", len(data))
	}
	switch c := data[eiClass]; c {
	case elfClass64:
	case elfClass32:
		return errorf(ErrClass, "32-bit ELF (ELFCLASS32); nsvm runs only 64-bit x86-64 programs")
	default:
		return errorf(ErrClass, "invalid ELF class %d; nsvm runs only 64-bit x86-64 programs", c)
	}
	switch d := data[eiData]; d {
	case elfData2LSB:
	case elfData2MSB:
		return errorf(ErrEndian, "big-endian ELF (ELFDATA2MSB); x86-64 programs are little endian")
	default:
		return errorf(ErrEndian, "invalid ELF data encoding %d; x86-64 programs are little endian", d)
	}
	if v := data[eiVersion]; v != evCurrent {
		return errorf(ErrNotELF, "not a valid ELF file (identification version %d, want 1)", v)
	}
	return nil
}

// checkLoad validates one PT_LOAD header (index i) and returns it as a
// segment. A zero Memsz segment is returned unchecked beyond filesz <= memsz
// so that the caller can skip it.
func checkLoad(data []byte, i int, p *phdr) (loadSeg, error) {
	if p.filesz > p.memsz {
		return loadSeg{}, errorf(ErrBadSegment, "segment %d: file size 0x%x exceeds memory size 0x%x", i, p.filesz, p.memsz)
	}
	if p.memsz == 0 {
		return loadSeg{idx: i, seg: Segment{Vaddr: p.vaddr, Offset: p.offset}, end: p.vaddr}, nil
	}
	fileData, err := fileRange(data, i, p)
	if err != nil {
		return loadSeg{}, err
	}
	if p.vaddr%PageSize != p.offset%PageSize {
		return loadSeg{}, errorf(ErrBadSegment, "segment %d: address 0x%x and file offset 0x%x are not congruent modulo the page size (0x%x)", i, p.vaddr, p.offset, PageSize)
	}
	end, ok := add(p.vaddr, p.memsz)
	if !ok {
		return loadSeg{}, errorf(ErrBadSegment, "segment %d: address 0x%x + size 0x%x overflows 64 bits", i, p.vaddr, p.memsz)
	}
	if end > MaxUserAddr {
		return loadSeg{}, errorf(ErrBadSegment, "segment %d is too large: [0x%x,0x%x) reaches beyond the user address space limit 0x%x", i, p.vaddr, end, uint64(MaxUserAddr))
	}
	return loadSeg{
		idx: i,
		seg: Segment{Vaddr: p.vaddr, Memsz: p.memsz, Offset: p.offset, Data: fileData, Prot: p.prot()},
		end: end,
	}, nil
}

// checkTLS validates a PT_TLS header. Linux ignores PT_TLS (libc reads it),
// but a bogus one would make the guest's libc read garbage, so we check it
// like a segment except for page congruence.
func checkTLS(data []byte, i int, p *phdr) (*Segment, error) {
	if p.filesz > p.memsz {
		return nil, errorf(ErrBadSegment, "TLS segment %d: file size 0x%x exceeds memory size 0x%x", i, p.filesz, p.memsz)
	}
	fileData, err := fileRange(data, i, p)
	if err != nil {
		return nil, err
	}
	if end, ok := add(p.vaddr, p.memsz); !ok || end > MaxUserAddr {
		return nil, errorf(ErrBadSegment, "TLS segment %d: address 0x%x + size 0x%x is outside the user address space", i, p.vaddr, p.memsz)
	}
	return &Segment{Vaddr: p.vaddr, Memsz: p.memsz, Offset: p.offset, Data: fileData, Prot: p.prot()}, nil
}

// fileRange returns the p_filesz file bytes of header i, capped so that
// appending to the slice cannot overwrite the rest of the input.
func fileRange(data []byte, i int, p *phdr) ([]byte, error) {
	size := uint64(len(data))
	end, ok := add(p.offset, p.filesz)
	if !ok {
		return nil, errorf(ErrBadSegment, "segment %d: file offset 0x%x + size 0x%x overflows 64 bits", i, p.offset, p.filesz)
	}
	if end > size {
		return nil, errorf(ErrTruncated, "truncated ELF: segment %d file range [0x%x,0x%x) ends past end of file (0x%x bytes)", i, p.offset, end, size)
	}
	return data[p.offset:end:end], nil
}

// checkEntry requires the entry point to lie in an executable segment.
func checkEntry(img *Image, loads []loadSeg) error {
	k := findContaining(loads, img.Entry, img.Entry)
	if k < 0 {
		return errorf(ErrBadSegment, "entry point 0x%x is not inside an executable segment", img.Entry)
	}
	if s := &loads[k].seg; s.Prot&ProtExec == 0 {
		return errorf(ErrBadSegment, "entry point 0x%x is in segment %d, which is not executable (%s)", img.Entry, loads[k].idx, s.Prot)
	}
	return nil
}

// findContaining returns the index in loads (sorted, non-overlapping) of the
// segment with Vaddr <= lo and hi <= Vaddr+Memsz and lo < Vaddr+Memsz, or -1.
func findContaining(loads []loadSeg, lo, hi uint64) int {
	for k := range loads {
		s := &loads[k]
		if s.seg.Vaddr <= lo && lo < s.end && hi <= s.end {
			return k
		}
	}
	return -1
}

// add returns a+b and whether it did not overflow.
func add(a, b uint64) (uint64, bool) {
	s := a + b
	return s, s >= a
}

// interpName returns the PT_INTERP path for an error message, quoted if it
// holds unprintable bytes, or a placeholder if it is out of the file.
func interpName(data []byte, p *phdr) string {
	end, ok := add(p.offset, p.filesz)
	if !ok || end > uint64(len(data)) {
		return "out of file bounds"
	}
	b := data[p.offset:end]
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	const maxLen = 200
	if len(b) > maxLen {
		b = b[:maxLen]
	}
	if len(b) == 0 {
		return `""`
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f {
			return strconv.QuoteToASCII(string(b))
		}
	}
	return string(b)
}

// machineName names a few e_machine values users are likely to run into.
func machineName(m uint16) string {
	switch m {
	case 3:
		return "i386"
	case 8:
		return "MIPS"
	case 20:
		return "PowerPC"
	case 21:
		return "PowerPC64"
	case 22:
		return "S/390"
	case 40:
		return "ARM"
	case 183:
		return "AArch64"
	case 243:
		return "RISC-V"
	case 258:
		return "LoongArch"
	}
	return "unknown"
}
