package guestkernel

import (
	"bytes"

	x86 "github.com/nsvm/nsvm/arch/x86_64"

	"golang.org/x/sys/unix"
)

// User-memory access, Linux's copy_from_user/copy_to_user/strncpy_from_user.
// Every pointer a guest passes is checked here against the task's VMAs and
// page tables; a bad one yields EFAULT and never touches VMM memory outside
// the guest. A page that the VMA allows but that was never touched is
// faulted in first, as the kernel's own fault handler would.

// userPage returns the guest-physical bytes of the page holding va, from va
// to the page end, checking the access.
func (mm *MM) userPage(va uint64, write bool) ([]byte, unix.Errno) {
	if va >= taskSize {
		return nil, unix.EFAULT
	}
	pte := mm.pt.Lookup(va)
	ok := pte&x86.PTEPresent != 0 && pte&x86.PTEUser != 0 && (!write || pte&x86.PTEWrite != 0)
	if !ok {
		// Not present (first touch), or a COW page: let the fault path
		// decide from the VMA.
		good, err := mm.faultIn(va, write, false)
		if err != nil || !good {
			return nil, unix.EFAULT
		}
		pte = mm.pt.Lookup(va)
		if pte&x86.PTEPresent == 0 || pte&x86.PTEUser == 0 || write && pte&x86.PTEWrite == 0 {
			return nil, unix.EFAULT
		}
	}
	pa := pte&x86.PTEAddr + va&(pageSize-1)
	return mm.k.mem[pa : pte&x86.PTEAddr+pageSize], 0
}

// usercopyFails is fail_usercopy's site: every user copy evaluates it
// once (size 1), and an injected failure copies nothing (EFAULT).
func (mm *MM) usercopyFails() bool {
	return mm.k.cfg.Fault != nil && mm.k.shouldFail(nil, "usercopy")
}

// copyIn reads len(dst) bytes at va (copy_from_user).
func (mm *MM) copyIn(dst []byte, va uint64) unix.Errno {
	if va+uint64(len(dst)) < va || mm.usercopyFails() {
		return unix.EFAULT
	}
	for len(dst) > 0 {
		src, e := mm.userPage(va, false)
		if e != 0 {
			return e
		}
		n := copy(dst, src)
		dst = dst[n:]
		va += uint64(n)
	}
	return 0
}

// copyInPartial copies what it can up to the first fault, as the kernel's
// copy loops do for read/write: it returns the bytes copied and the errno
// that stopped it.
func (mm *MM) copyInPartial(dst []byte, va uint64) (int, unix.Errno) {
	done := 0
	for done < len(dst) {
		src, e := mm.userPage(va+uint64(done), false)
		if e != 0 {
			return done, e
		}
		done += copy(dst[done:], src)
	}
	return done, 0
}

// copyOut writes src at va (copy_to_user).
func (mm *MM) copyOut(va uint64, src []byte) unix.Errno {
	if mm.usercopyFails() {
		return unix.EFAULT
	}
	return mm.copyOutKernel(va, src)
}

// readString reads a NUL-terminated string of at most max bytes
// (strncpy_from_user); ENAMETOOLONG when no NUL is found within max.
func (mm *MM) readString(va uint64, max int) (string, unix.Errno) {
	var buf []byte
	for len(buf) < max {
		src, e := mm.userPage(va, false)
		if e != 0 {
			return "", e
		}
		for i, c := range src {
			if c == 0 {
				return string(append(buf, src[:i]...)), 0
			}
			if len(buf)+i+1 >= max {
				return "", unix.ENAMETOOLONG
			}
		}
		buf = append(buf, src...)
		va += uint64(len(src))
	}
	return "", unix.ENAMETOOLONG
}

// strncpy reads a string of at most n bytes at va, as strncpy_from_user
// with count n does: it stops at a NUL or after n bytes (which need no
// NUL), and faults only on a byte it needs.
func (mm *MM) strncpy(va uint64, n int) (string, unix.Errno) {
	var buf []byte
	for len(buf) < n {
		src, e := mm.userPage(va, false)
		if e != 0 {
			return "", e
		}
		src = src[:min(len(src), n-len(buf))]
		if i := bytes.IndexByte(src, 0); i >= 0 {
			return string(append(buf, src[:i]...)), 0
		}
		buf = append(buf, src...)
		va += uint64(len(src))
	}
	return string(buf), 0
}

func (mm *MM) readU64(va uint64) (uint64, unix.Errno) {
	var b [8]byte
	if e := mm.copyIn(b[:], va); e != 0 {
		return 0, e
	}
	return le.Uint64(b[:]), 0
}

func (mm *MM) writeU64(va, v uint64) unix.Errno {
	var b [8]byte
	le.PutUint64(b[:], v)
	return mm.copyOut(va, b[:])
}

// writeU32Child stores into a new child's memory the way its first run
// would (schedule_tail's CLONE_CHILD_SETTID store): not a user copy of
// the forking task, so no fault-injection site.
func (mm *MM) writeU32Child(va uint64, v uint32) {
	var b [4]byte
	le.PutUint32(b[:], v)
	for i := 0; i < 4; {
		dst, e := mm.userPage(va+uint64(i), true)
		if e != 0 {
			return
		}
		i += copy(dst, b[i:])
	}
}

func (mm *MM) writeU32(va uint64, v uint32) unix.Errno {
	var b [4]byte
	le.PutUint32(b[:], v)
	return mm.copyOut(va, b[:])
}

// copyOutKernel is copyOut for the kernel's own stores to user memory
// (signal frames: Linux's unsafe_put_user, which is no fail_usercopy
// site).
func (mm *MM) copyOutKernel(va uint64, src []byte) unix.Errno {
	if va+uint64(len(src)) < va {
		return unix.EFAULT
	}
	for len(src) > 0 {
		dst, e := mm.userPage(va, true)
		if e != 0 {
			return e
		}
		n := copy(dst, src)
		src = src[n:]
		va += uint64(n)
	}
	return 0
}
