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
}

// release drops one reference to the description (fput); the last one
// closes it.
func (f *file) release(k *Kernel) {
	f.refs--
	if f.refs > 0 {
		return
	}
	k.Stats.LiveFiles--
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
	k    *Kernel
	fds  []fdEntry
	refs int
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
	k.Stats.LiveFDTables++
	return t
}

// dup copies the table for a child without CLONE_FILES (dup_fd): the
// same open files, each one more reference.
func (t *fdTable) dup() *fdTable {
	n := &fdTable{k: t.k, fds: make([]fdEntry, len(t.fds)), refs: 1}
	copy(n.fds, t.fds)
	for _, e := range n.fds {
		if e.f != nil {
			e.f.refs++
		}
	}
	t.k.Stats.LiveFDTables++
	return n
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
	t.k.Stats.LiveFDTables--
}

func (t *fdTable) get(fd uint64) (*file, unix.Errno) {
	if fd >= uint64(len(t.fds)) || t.fds[fd].f == nil {
		return nil, unix.EBADF
	}
	return t.fds[fd].f, 0
}

// install puts f at the lowest free fd >= min (get_unused_fd_flags +
// fd_install); it takes over the caller's reference.
func (t *fdTable) install(f *file, min int, cloexec bool, limit uint64) (int, unix.Errno) {
	for fd := min; fd < len(t.fds); fd++ {
		if t.fds[fd].f == nil {
			t.fds[fd] = fdEntry{f: f, cloexec: cloexec}
			return fd, 0
		}
	}
	fd := max(len(t.fds), min)
	if uint64(fd) >= limit || fd >= nrOpen {
		return -1, unix.EMFILE
	}
	for len(t.fds) <= fd {
		t.fds = append(t.fds, fdEntry{})
	}
	t.fds[fd] = fdEntry{f: f, cloexec: cloexec}
	return fd, 0
}

// set replaces whatever is at fd (dup2), closing the old file.
func (t *fdTable) set(fd int, f *file, cloexec bool) {
	for len(t.fds) <= fd {
		t.fds = append(t.fds, fdEntry{})
	}
	old := t.fds[fd].f
	t.fds[fd] = fdEntry{f: f, cloexec: cloexec}
	if old != nil {
		old.release(t.k)
	}
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
