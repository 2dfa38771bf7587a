package guestkernel

import (
	"golang.org/x/sys/unix"
)

// file is an open file description. nsvm has no file system yet: the only
// files are the three standard streams, bridged to nsvm's own stdio, so
// that reads, writes, fstat and terminal ioctls behave as the host's fds.
type file struct {
	hostFD int
	name   string
	refs   int
}

// fdTable is a files_struct.
type fdTable struct {
	fds  []*file
	refs int
}

func newStdioTable(stdin, stdout, stderr int) *fdTable {
	t := &fdTable{refs: 1}
	for i, fd := range []int{stdin, stdout, stderr} {
		t.fds = append(t.fds, &file{hostFD: fd, name: [...]string{"stdin", "stdout", "stderr"}[i], refs: 1})
	}
	return t
}

func (t *fdTable) get(fd uint64) (*file, unix.Errno) {
	if fd >= uint64(len(t.fds)) || t.fds[fd] == nil {
		return nil, unix.EBADF
	}
	return t.fds[fd], 0
}

func (t *fdTable) close(fd uint64) unix.Errno {
	f, e := t.get(fd)
	if e != 0 {
		return e
	}
	t.fds[fd] = nil
	f.refs--
	return 0
}
