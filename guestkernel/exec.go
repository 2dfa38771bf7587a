package guestkernel

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"

	x86 "github.com/nsvm/nsvm/arch/x86_64"
	"github.com/nsvm/nsvm/guestkernel/loader"
)

var le = binary.LittleEndian

// auxv tags (include/uapi/linux/auxvec.h).
const (
	atNull     = 0
	atPhdr     = 3
	atPhent    = 4
	atPhnum    = 5
	atPagesz   = 6
	atBase     = 7
	atFlags    = 8
	atEntry    = 9
	atUID      = 11
	atEUID     = 12
	atGID      = 13
	atEGID     = 14
	atPlatform = 15
	atHWCap    = 16
	atClkTck   = 17
	atSecure   = 23
	atRandom   = 25
	atHWCap2   = 26
	atExecFn   = 31
)

// execImage replaces t's address space with the ELF image and builds the
// initial stack, as load_elf_binary and create_elf_tables do for a static
// executable. It returns the user entry point and stack pointer.
func (k *Kernel) execImage(t *Task, img *loader.Image, execfn string, argv, envp []string) (entry, sp uint64, err error) {
	mm, err := k.newMM()
	if err != nil {
		return 0, 0, err
	}
	var bias uint64
	if img.PIE {
		bias = etDynBase
	}
	for i := range img.Segments {
		if err := mm.loadSegment(&img.Segments[i], bias); err != nil {
			mm.release()
			return 0, 0, err
		}
	}
	mm.brkStart = pageUp(img.End + bias)
	mm.brk = mm.brkStart
	mm.insert(vma{start: stackTop - stackMax, end: stackTop, prot: loader.ProtRead | loader.ProtWrite, kind: vmaStack})

	mm.populate(stackTop-64<<10, stackTop, loader.ProtRead|loader.ProtWrite)

	phdr := img.PhdrVaddr + bias
	sp, err = mm.buildStack(k, t, img, bias, phdr, execfn, argv, envp)
	if err != nil {
		mm.release()
		return 0, 0, err
	}
	if t.mm != nil {
		t.mm.put()
	}
	t.mm = mm
	return img.Entry + bias, sp, nil
}

// loadSegment maps one PT_LOAD: whole file pages (the file is page
// congruent), the tail of the last file page zeroed (padzero), then
// anonymous zero pages for the rest of bss. A page shared with an earlier
// segment is replaced, as elf_map's MAP_FIXED would.
func (mm *MM) loadSegment(s *loader.Segment, bias uint64) error {
	vaddr := s.Vaddr + bias
	start, end := pageDown(vaddr), pageUp(vaddr+s.Memsz)
	if !mm.free(start, end) {
		mm.unmapRange(start, end)
	}
	mm.insert(vma{start: start, end: end, prot: s.Prot, kind: vmaELF})
	fileEnd := vaddr + uint64(len(s.Data))
	flags := pteFlags(s.Prot)
	for page := start; page < end; page += pageSize {
		pa, err := mm.k.pages.alloc()
		if err != nil {
			return err
		}
		dst := mm.k.mem[pa : pa+pageSize]
		// Copy the file bytes that fall in this page.
		lo, hi := max(page, vaddr), min(page+pageSize, fileEnd)
		if lo < hi {
			copy(dst[lo-page:hi-page], s.Data[lo-vaddr:hi-vaddr])
		}
		if err := mm.pt.Map(page, pa, flags); err != nil {
			mm.k.pages.release(pa)
			return err
		}
		mm.pages++
	}
	return nil
}

// phdrBytes returns the raw program header table from the file.
func phdrBytes(file []byte, img *loader.Image) []byte {
	off := le.Uint64(file[32:])
	n := uint64(img.Phnum) * uint64(img.Phent)
	if off > uint64(len(file)) || n > uint64(len(file))-off {
		return nil
	}
	return file[off : off+n]
}

// buildStack lays out argc, argv, envp and auxv below stackTop, the way
// create_elf_tables does: strings at the top, then AT_RANDOM bytes and the
// platform string, then the 16-byte aligned vectors.
func (mm *MM) buildStack(k *Kernel, t *Task, img *loader.Image, bias, phdr uint64, execfn string, argv, envp []string) (uint64, error) {
	sp := uint64(stackTop) - 8 // Linux leaves an 8-byte end marker
	push := func(b []byte) (uint64, error) {
		sp -= uint64(len(b))
		if e := mm.copyOut(sp, b); e != 0 {
			return 0, fmt.Errorf("initial stack: %v", e)
		}
		return sp, nil
	}
	pushStr := func(s string) (uint64, error) { return push(append([]byte(s), 0)) }

	execfnAddr, err := pushStr(execfn)
	if err != nil {
		return 0, err
	}
	envAddrs := make([]uint64, len(envp))
	for i := len(envp) - 1; i >= 0; i-- {
		if envAddrs[i], err = pushStr(envp[i]); err != nil {
			return 0, err
		}
	}
	argAddrs := make([]uint64, len(argv))
	for i := len(argv) - 1; i >= 0; i-- {
		if argAddrs[i], err = pushStr(argv[i]); err != nil {
			return 0, err
		}
	}
	platform, err := pushStr("x86_64")
	if err != nil {
		return 0, err
	}
	var rnd [16]byte
	rand.Read(rnd[:])
	random, err := push(rnd[:])
	if err != nil {
		return 0, err
	}
	if phdr == bias {
		// The program headers are not inside a loaded segment: copy
		// them onto the stack so AT_PHDR points at real memory.
		raw := make([]byte, int(img.Phnum)*int(img.Phent))
		copy(raw, phdrBytes(k.cfg.Image, img))
		sp &^= 7
		if phdr, err = push(raw); err != nil {
			return 0, err
		}
	}

	_, _, _, hwcap := x86.HostCPUID(1, 0)
	c := t.cred
	auxv := []uint64{
		atPhdr, phdr, atPhent, uint64(img.Phent), atPhnum, uint64(img.Phnum),
		atPagesz, pageSize, atBase, 0, atFlags, 0, atEntry, img.Entry + bias,
		atUID, uint64(c.uid), atEUID, uint64(c.euid), atGID, uint64(c.gid), atEGID, uint64(c.egid),
		atSecure, 0, atRandom, random, atHWCap, uint64(hwcap), atHWCap2, 0,
		atClkTck, 100, atPlatform, platform, atExecFn, execfnAddr,
		atNull, 0,
	}
	words := 1 + len(argv) + 1 + len(envp) + 1 + len(auxv)
	sp = (sp - uint64(words)*8) &^ 15
	vec := make([]byte, 0, words*8)
	put := func(v uint64) { vec = le.AppendUint64(vec, v) }
	put(uint64(len(argv)))
	for _, a := range argAddrs {
		put(a)
	}
	put(0)
	for _, a := range envAddrs {
		put(a)
	}
	put(0)
	for _, a := range auxv {
		put(a)
	}
	if e := mm.copyOut(sp, vec); e != 0 {
		return 0, fmt.Errorf("initial stack: %v", e)
	}
	return sp, nil
}
