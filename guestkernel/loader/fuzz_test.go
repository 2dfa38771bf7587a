package loader_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unsafe"

	"github.com/nsvm/nsvm/guestkernel/loader"
)

// FuzzParse checks that Parse never panics and that every image it accepts
// satisfies the invariants the VM relies on when mapping it.
func FuzzParse(f *testing.F) {
	f.Add(baseSpec().build())
	f.Add(compactSpec().build())
	f.Add(pieSpec().build())
	f.Add(withInterp(baseSpec()).build())
	for _, mut := range []func(s *spec){
		func(s *spec) { s.phdrs[2].vaddr, s.phdrs[2].off = 0x4010f0, 0x10f0 },             // overlap
		func(s *spec) { s.phdrs[2].memsz = 0x7f },                                         // filesz > memsz
		func(s *spec) { s.phdrs[2].vaddr, s.phdrs[2].memsz = 0xfffffffffffff100, 0x1000 }, // overflow
		func(s *spec) { s.phdrs[1].off = 0x1008 },                                         // misaligned
		func(s *spec) { s.entry = 0x400010 },                                              // entry not executable
		func(s *spec) { // PT_PHDR
			s.phdrs = append([]ph{{typ: ptPhdr, flags: pfR, off: 64, vaddr: 0x400040, filesz: 6 * 56, memsz: 6 * 56}}, s.phdrs...)
		},
	} {
		s := baseSpec()
		mut(&s)
		f.Add(s.build())
	}
	base := baseSpec().build()
	f.Add(base[:100])
	f.Add(base[:64])

	f.Fuzz(func(t *testing.T, data []byte) {
		orig := bytes.Clone(data)
		img, err := loader.Parse(data)
		if !bytes.Equal(data, orig) {
			t.Fatal("Parse modified its input")
		}
		if err != nil {
			if img != nil {
				t.Fatal("image returned together with an error")
			}
			var le *loader.Error
			if !errors.As(err, &le) || !errors.Is(err, le.Kind) {
				t.Fatalf("error %v (%T) is not a *loader.Error matching its kind", err, err)
			}
			if msg := err.Error(); msg == "" || strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("Error() = %q: want one non-empty line", msg)
			}
			return
		}
		if len(img.Segments) == 0 {
			t.Fatal("accepted an image without segments")
		}
		entryOK := false
		for i, s := range img.Segments {
			checkSegment(t, data, s)
			if s.Memsz == 0 {
				t.Fatalf("segment %d has zero Memsz", i)
			}
			if i > 0 {
				prev := img.Segments[i-1]
				if prev.Vaddr+prev.Memsz > s.Vaddr {
					t.Fatalf("segments %d and %d unsorted or overlapping: %#x+%#x > %#x", i-1, i, prev.Vaddr, prev.Memsz, s.Vaddr)
				}
			}
			if s.Vaddr%loader.PageSize != s.Offset%loader.PageSize {
				t.Fatalf("segment %d not page congruent", i)
			}
			if s.Prot&loader.ProtExec != 0 && img.Entry >= s.Vaddr && img.Entry-s.Vaddr < s.Memsz {
				entryOK = true
			}
		}
		if !entryOK {
			t.Fatalf("entry %#x is not in an executable segment", img.Entry)
		}
		last := img.Segments[len(img.Segments)-1]
		if img.End != last.Vaddr+last.Memsz {
			t.Fatalf("End = %#x, want %#x", img.End, last.Vaddr+last.Memsz)
		}
		if img.TLS != nil {
			checkSegment(t, data, *img.TLS)
		}
	})
}

// checkSegment checks that s lies in the user address space and that its
// Data is the file range it claims, inside the input.
func checkSegment(t *testing.T, data []byte, s loader.Segment) {
	t.Helper()
	if s.Vaddr+s.Memsz < s.Vaddr || s.Vaddr+s.Memsz > loader.MaxUserAddr {
		t.Fatalf("segment [%#x,+%#x) outside user space", s.Vaddr, s.Memsz)
	}
	if uint64(len(s.Data)) > s.Memsz {
		t.Fatalf("segment data %#x longer than Memsz %#x", len(s.Data), s.Memsz)
	}
	if s.Offset > uint64(len(data)) || uint64(len(data))-s.Offset < uint64(len(s.Data)) {
		t.Fatalf("segment file range [%#x,+%#x) outside the %#x-byte input", s.Offset, len(s.Data), len(data))
	}
	if len(s.Data) > 0 && unsafe.SliceData(s.Data) != &data[s.Offset] {
		t.Fatal("segment data does not alias the input at Offset")
	}
}
