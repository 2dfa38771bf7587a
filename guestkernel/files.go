package guestkernel

import (
	"golang.org/x/sys/unix"
)

// File kinds. nsvm has no file system yet: a file is one of the standard
// streams (bridged to nsvm's own stdio, so that reads, writes, fstat and
// terminal ioctls behave as the host's fds), an end of a pipe between
// guest tasks, or a pidfd.
const (
	fileHost = iota
	filePipe
	filePidfd
	fileNS   // /proc/<pid>/ns/<type>: a namespace, for setns
	fileProc // a generated /proc file
)

// file is struct file: an open file description, shared by every fd
// (and every task) that refers to it.
type file struct {
	kind   int
	hostFD int
	name   string
	pipe   *pipe
	write  bool // the pipe's write end
	pidfd  *Task
	nsf    *nsFile
	proc   *procFile
	flags  int // O_NONBLOCK, O_APPEND... (status flags), and the access mode
	refs   int
	kmem   int // kernel memory charged for it (kmem.go), at its first install
}

// release drops one reference to the description (fput); the last one
// closes it.
func (f *file) release(k *Kernel) {
	f.refs--
	if f.refs > 0 {
		return
	}
	k.Stats.LiveFiles--
	k.kmemUncharge(f.kmem)
	f.kmem = 0
	switch f.kind {
	case filePipe:
		f.pipe.closeEnd(k, f.write)
	case fileNS:
		k.nsw.Put(f.nsf.ns)
	}
}

// fdEntry is one slot of the fd table.
type fdEntry struct {
	f       *file
	cloexec bool
}

// fdTable is a files_struct, shared between tasks with CLONE_FILES.
type fdTable struct {
	k       *Kernel
	fds     []fdEntry
	refs    int
	charged int // slots charged to kernel memory (kmem.go)
}

// nrOpen is fs.nr_open's default: the largest fd table.
const nrOpen = 1 << 20

func (k *Kernel) newStdioTable(stdin, stdout, stderr int) *fdTable {
	t := &fdTable{k: k, refs: 1}
	for i, fd := range []int{stdin, stdout, stderr} {
		mode := unix.O_RDWR
		if fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); err == nil {
			mode = fl
		}
		f := &file{kind: fileHost, hostFD: fd, name: [...]string{"stdin", "stdout", "stderr"}[i], refs: 1, flags: mode}
		k.Stats.LiveFiles++
		t.fds = append(t.fds, fdEntry{f: f})
	}
	t.charged = len(t.fds)
	k.kmem += t.charged * kmemFDSlot
	k.Stats.LiveFDTables++
	return t
}

// dup copies the table for a child without CLONE_FILES (dup_fd): the
// same open files, each one more reference. The copy is as long as the
// highest open fd needs (count_open_files), not as the parent's table
// has grown; ENOMEM when kernel memory runs out.
func (t *fdTable) dup() (*fdTable, unix.Errno) {
	size := len(t.fds)
	for size > 0 && t.fds[size-1].f == nil {
		size--
	}
	if !t.k.kmemCharge(size * kmemFDSlot) {
		return nil, unix.ENOMEM
	}
	n := &fdTable{k: t.k, fds: make([]fdEntry, size), refs: 1, charged: size}
	copy(n.fds, t.fds)
	for _, e := range n.fds {
		if e.f != nil {
			e.f.refs++
		}
	}
	t.k.Stats.LiveFDTables++
	return n, 0
}

// put drops a reference; the last one closes every fd (exit_files).
func (t *fdTable) put() {
	t.refs--
	if t.refs > 0 {
		return
	}
	for i := range t.fds {
		if f := t.fds[i].f; f != nil {
			t.fds[i].f = nil
			f.release(t.k)
		}
	}
	t.k.kmemUncharge(t.charged * kmemFDSlot)
	t.charged = 0
	t.k.Stats.LiveFDTables--
}

func (t *fdTable) get(fd uint64) (*file, unix.Errno) {
	if fd >= uint64(len(t.fds)) || t.fds[fd].f == nil {
		return nil, unix.EBADF
	}
	return t.fds[fd].f, 0
}

// install puts f at the lowest free fd >= min (get_unused_fd_flags +
// fd_install); it takes over the caller's reference. A file's first
// install charges it to kernel memory (alloc_empty_file).
func (t *fdTable) install(f *file, min int, cloexec bool, limit uint64) (int, unix.Errno) {
	fresh := f.kmem == 0
	if e := t.chargeFile(f); e != 0 {
		return -1, e
	}
	fd, e := t.slot(min, limit)
	if e != 0 {
		if fresh {
			t.k.kmemUncharge(f.kmem)
			f.kmem = 0
		}
		return -1, e
	}
	t.fds[fd] = fdEntry{f: f, cloexec: cloexec}
	return fd, 0
}

// slot finds the lowest free fd >= min, growing the table if need be.
func (t *fdTable) slot(min int, limit uint64) (int, unix.Errno) {
	for fd := min; fd < len(t.fds); fd++ {
		if t.fds[fd].f == nil {
			return fd, 0
		}
	}
	fd := max(len(t.fds), min)
	if uint64(fd) >= limit || fd >= nrOpen {
		return -1, unix.EMFILE
	}
	return fd, t.grow(fd + 1)
}

// chargeFile charges a new open file description to kernel memory: the
// struct, and a /proc file's contents.
func (t *fdTable) chargeFile(f *file) unix.Errno {
	if f.kmem != 0 {
		return 0
	}
	n := kmemFile
	if f.proc != nil {
		n += len(f.proc.data)
	}
	if !t.k.kmemCharge(n) {
		return unix.ENOMEM
	}
	f.kmem = n
	return 0
}

// grow makes the table n slots long (expand_files), charging the new
// slots to kernel memory: ENOMEM when it runs out.
func (t *fdTable) grow(n int) unix.Errno {
	if n <= len(t.fds) {
		return 0
	}
	if n > t.charged {
		if !t.k.kmemCharge((n - t.charged) * kmemFDSlot) {
			return unix.ENOMEM
		}
		t.charged = n
	}
	t.fds = append(t.fds, make([]fdEntry, n-len(t.fds))...)
	return 0
}

// set replaces whatever is at fd (dup2), closing the old file; ENOMEM
// when the table cannot grow to fd.
func (t *fdTable) set(fd int, f *file, cloexec bool) unix.Errno {
	if e := t.grow(fd + 1); e != 0 {
		return e
	}
	old := t.fds[fd].f
	t.fds[fd] = fdEntry{f: f, cloexec: cloexec}
	if old != nil {
		old.release(t.k)
	}
	return 0
}

// uninstall takes back a file just installed at fd that nothing else
// refers to (an error path undoing fd_install): the slot is free again
// and the file's charge returned.
func (t *fdTable) uninstall(fd int) {
	f := t.fds[fd].f
	t.fds[fd] = fdEntry{}
	t.k.kmemUncharge(f.kmem)
	f.kmem = 0
}

func (t *fdTable) close(fd uint64) unix.Errno {
	f, e := t.get(fd)
	if e != 0 {
		return e
	}
	t.fds[fd] = fdEntry{}
	f.release(t.k)
	return 0
}
