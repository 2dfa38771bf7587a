package x86

import (
	"encoding/binary"
	"fmt"
)

// Page-table entry bits.
const (
	PTEPresent  = 1 << 0
	PTEWrite    = 1 << 1
	PTEUser     = 1 << 2
	PTEAccessed = 1 << 5
	PTEDirty    = 1 << 6
	PTEHuge     = 1 << 7
	PTEGlobal   = 1 << 8
	// PTECOW is a software bit (bit 9, ignored by the CPU) for pages
	// shared copy-on-write.
	PTECOW  = 1 << 9
	PTENX   = 1 << 63
	PTEAddr = 0x000ffffffffff000
)

// PageTables is a 4-level x86-64 page-table tree stored in guest physical
// memory, edited by the VMM. Intermediate tables are allocated from Alloc
// and zeroed; permissions are enforced at the leaf.
//
// The VMM writes PTEs behind the guest's back. Adding a mapping needs no
// flush (a not-present entry is never cached), but removing one or
// reducing its rights must be followed by a TLB flush of the vCPU (see
// guestkernel's flush on return), just as a kernel would flush.
type PageTables struct {
	Mem   []byte
	Root  uint64 // physical address of the PML4
	Alloc func() (uint64, error)
	Free  func(pa uint64)
	// Shoot, when set, records every page-table page whose present
	// entries change or which is freed (see Shootdown).
	Shoot *Shootdown
}

func (p *PageTables) changed(pteAddr uint64) {
	if p.Shoot != nil {
		p.Shoot.Add(pteAddr)
	}
}

// NewPageTables allocates an empty PML4 that shares the kernel half.
func NewPageTables(mem []byte, alloc func() (uint64, error), free func(uint64), shoot *Shootdown) (*PageTables, error) {
	root, err := alloc()
	if err != nil {
		return nil, err
	}
	p := &PageTables{Mem: mem, Root: root, Alloc: alloc, Free: free, Shoot: shoot}
	clear(mem[root : root+PageSize])
	p.put(root+511*8, KernelPML4E)
	p.put(root+directMapSlot*8, DirectMapPML4E)
	return p, nil
}

func (p *PageTables) get(pa uint64) uint64    { return binary.LittleEndian.Uint64(p.Mem[pa:]) }
func (p *PageTables) put(pa uint64, v uint64) { binary.LittleEndian.PutUint64(p.Mem[pa:], v) }

func index(va uint64, level int) uint64 { return va >> (12 + 9*uint(level)) & 511 }

// walk returns the physical address of the leaf PTE for va, creating the
// intermediate tables when create is set. ok is false when a level is
// missing and create is not set.
func (p *PageTables) walk(va uint64, create bool) (pteAddr uint64, ok bool, err error) {
	table := p.Root
	for level := 3; level > 0; level-- {
		ea := table + index(va, level)*8
		e := p.get(ea)
		if e&PTEPresent == 0 {
			if !create {
				return 0, false, nil
			}
			n, err := p.Alloc()
			if err != nil {
				return 0, false, err
			}
			clear(p.Mem[n : n+PageSize])
			e = n | PTEPresent | PTEWrite | PTEUser
			p.put(ea, e)
		}
		if e&PTEHuge != 0 {
			return 0, false, fmt.Errorf("huge page at level %d for %#x", level, va)
		}
		table = e & PTEAddr
	}
	return table + index(va, 0)*8, true, nil
}

// Map maps the 4 KiB page at va to physical pa with leaf flags (Present is
// added). An existing mapping is replaced.
func (p *PageTables) Map(va, pa, flags uint64) error {
	ea, _, err := p.walk(va, true)
	if err != nil {
		return err
	}
	if p.get(ea)&PTEPresent != 0 {
		p.changed(ea)
	}
	p.put(ea, pa&PTEAddr|flags|PTEPresent)
	return nil
}

// Lookup returns the leaf PTE for va (0 when unmapped).
func (p *PageTables) Lookup(va uint64) uint64 {
	ea, ok, _ := p.walk(va, false)
	if !ok {
		return 0
	}
	return p.get(ea)
}

// SetPTE replaces the leaf PTE of an already-walked va; it reports false
// when no table covers va.
func (p *PageTables) SetPTE(va, pte uint64) bool {
	ea, ok, _ := p.walk(va, false)
	if !ok {
		return false
	}
	if p.get(ea)&PTEPresent != 0 {
		p.changed(ea)
	}
	p.put(ea, pte)
	return true
}

// Unmap clears the leaf for va and returns the old PTE.
func (p *PageTables) Unmap(va uint64) uint64 {
	ea, ok, _ := p.walk(va, false)
	if !ok {
		return 0
	}
	old := p.get(ea)
	if old&PTEPresent != 0 {
		p.changed(ea)
	}
	p.put(ea, 0)
	return old
}

// Range calls fn for every present leaf PTE with va in [start, end),
// skipping absent tables quickly.
func (p *PageTables) Range(start, end uint64, fn func(va, pte uint64)) {
	p.rangeLevel(p.Root, 3, 0, start, end, fn)
}

func (p *PageTables) rangeLevel(table uint64, level int, base, start, end uint64, fn func(va, pte uint64)) {
	span := uint64(1) << (12 + 9*uint(level))
	for i := uint64(0); i < 512; i++ {
		va := base + i*span
		if level == 3 && i >= 256 {
			return // user half only
		}
		if va+span <= start || va >= end {
			continue
		}
		e := p.get(table + i*8)
		if e&PTEPresent == 0 {
			continue
		}
		if level == 0 {
			fn(va, e)
			continue
		}
		p.rangeLevel(e&PTEAddr, level-1, va, start, end, fn)
	}
}

// FreeTables releases every user-half intermediate table (not the leaves'
// pages, which the caller owns) and the PML4 itself.
func (p *PageTables) FreeTables() {
	var free func(table uint64, level int)
	free = func(table uint64, level int) {
		n := uint64(512)
		if level == 3 {
			n = 256
		}
		for i := uint64(0); i < n; i++ {
			e := p.get(table + i*8)
			if e&PTEPresent == 0 || level == 1 {
				if level == 1 && e&PTEPresent != 0 {
					p.changed(e & PTEAddr)
					p.Free(e & PTEAddr)
				}
				continue
			}
			free(e&PTEAddr, level-1)
		}
		p.changed(table)
		p.Free(table)
	}
	free(p.Root, 3)
}

// PTEFlags returns the leaf flags for a user page with the given rights.
func PTEFlags(read, write, exec bool) uint64 {
	f := uint64(PTEUser | PTEAccessed)
	if write {
		f |= PTEWrite | PTEDirty
	}
	if !exec {
		f |= PTENX
	}
	return f
}
