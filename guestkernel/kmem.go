package guestkernel

// Kernel memory. Linux allocates the objects a program makes it keep (fd
// tables, open files, pipe buffers, VMAs, SysV message queues and their
// messages) from the machine's RAM, so whatever a program does, their
// total is bounded by memory size: past it, the allocation fails and the
// syscall returns ENOMEM. Each object also has its own limit, which the
// syscalls check as Linux does (RLIMIT_NOFILE and nr_open, max_map_count,
// pipe capacity, MSGMNB and MSGMNI).
//
// nsvm keeps these objects on the host heap, so the per-object limits
// alone would let a guest multiply them (a thousand processes, each with
// a million-slot fd table) into host memory far beyond what it was given.
// Charging them against a budget the size of the guest's RAM bounds the
// host memory a guest can pin, as Linux's RAM bounds its own: at most
// --mem for guest pages (the guest memory itself) plus --mem for kernel
// objects, plus a fixed amount per task (max_threads, itself a fraction
// of --mem).
//
// Each charge names the object's approximate size on the host; the sizes
// need only be right within a small factor.

import "unsafe"

const (
	kmemFile     = 256 // a struct file and what nsvm keeps with it
	kmemFDSlot   = int(unsafe.Sizeof(fdEntry{}))
	kmemVMA      = int(unsafe.Sizeof(vma{}))
	kmemVMAChunk = 64  // VMA slots are charged this many at a time
	kmemMsgQueue = 256 // a struct msg_queue
	kmemMsg      = 64  // a struct msg_msg header (the text is extra)
)

// kmemLimit is the budget: the size of guest memory.
func (k *Kernel) kmemLimit() int { return len(k.mem) }

// kmemCharge takes n bytes of the budget; false (and nothing taken) when
// it would run out, which the caller turns into ENOMEM.
func (k *Kernel) kmemCharge(n int) bool {
	if n > k.kmemLimit()-k.kmem {
		return false
	}
	k.kmem += n
	return true
}

// kmemUncharge gives n bytes back.
func (k *Kernel) kmemUncharge(n int) { k.kmem = max(k.kmem-n, 0) }

// KernelMemory reports the bytes of kernel objects charged and the
// budget (for tests and stats).
func (k *Kernel) KernelMemory() (used, limit int) { return k.kmem, k.kmemLimit() }
