package guestkernel

import (
	"slices"

	"golang.org/x/sys/unix"
)

// Pipes between guest tasks (fs/pipe.c): a 64 KiB buffer, blocking reads
// and writes through the scheduler, EOF when the last writer closes,
// SIGPIPE and EPIPE when the last reader has.

const (
	oNotificationPipe = unix.O_EXCL   // watch_queue pipes (not modelled)
	pipeBufSize       = 16 * pageSize // the default pipe capacity
	pipeBuf           = 4096          // PIPE_BUF: writes up to this are atomic
)

type pipe struct {
	buf              []byte
	readers, writers int
	ino              uint64
	waiters          []*Task // tasks blocked reading or writing
}

// addWaiter queues t on the wait list of obj (prepare_to_wait). Entries
// whose task no longer sleeps on obj (interrupted by a signal, killed)
// are dropped first, and t is queued once: the list stays as long as the
// number of sleepers, however often they are interrupted.
func addWaiter(list []*Task, t *Task, obj any) []*Task {
	list = slices.DeleteFunc(list, func(w *Task) bool {
		return w == t || w.state != taskBlocked || w.wait.obj != obj
	})
	return append(list, t)
}

func (p *pipe) wakeAll(k *Kernel) {
	w := p.waiters
	p.waiters = nil
	for _, t := range w {
		k.wake(t, 0)
	}
}

func (p *pipe) closeEnd(k *Kernel, write bool) {
	if write {
		p.writers--
	} else {
		p.readers--
	}
	if p.readers == 0 && p.writers == 0 {
		// free_pipe_info: the unread data goes.
		k.kmemUncharge(len(p.buf))
		p.buf = nil
	}
	p.wakeAll(k)
}

// sysPipe2: pipe2(fds, flags) with O_CLOEXEC, O_NONBLOCK and O_DIRECT.
func sysPipe2(t *Task, a *args) int64 {
	flags := a[1]
	if flags&^uint64(unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_DIRECT|oNotificationPipe) != 0 {
		return errno(unix.EINVAL)
	}
	k := t.k
	k.pipeIno++
	p := &pipe{readers: 1, writers: 1, ino: k.pipeIno}
	st := int(flags & unix.O_NONBLOCK)
	r := &file{kind: filePipe, pipe: p, refs: 1, flags: unix.O_RDONLY | st}
	w := &file{kind: filePipe, pipe: p, write: true, refs: 1, flags: unix.O_WRONLY | st}
	cloexec := flags&unix.O_CLOEXEC != 0
	limit := t.tg.rlimits[unix.RLIMIT_NOFILE].cur
	rfd, e := t.files.install(r, 0, cloexec, limit)
	if e != 0 {
		return errno(e)
	}
	wfd, e := t.files.install(w, 0, cloexec, limit)
	if e != 0 {
		t.files.uninstall(rfd)
		return errno(e)
	}
	var b [8]byte
	le.PutUint32(b[:], uint32(rfd))
	le.PutUint32(b[4:], uint32(wfd))
	if e := t.mm.copyOut(a[0], b[:]); e != 0 {
		// Linux undoes the fds when the store faults.
		t.files.uninstall(rfd)
		t.files.uninstall(wfd)
		return errno(e)
	}
	k.Stats.LiveFiles += 2
	return 0
}

// sysPipe: pipe(fds).
func sysPipe(t *Task, a *args) int64 { return sysPipe2(t, &args{a[0], 0}) }

// pipeRead reads from a pipe into guest memory: data if there is any,
// 0 at EOF, EAGAIN or sleep when empty.
func (t *Task) pipeRead(f *file, va, count uint64) int64 {
	p := f.pipe
	if count == 0 {
		return 0
	}
	if len(p.buf) == 0 {
		if p.writers == 0 {
			return 0
		}
		if f.flags&unix.O_NONBLOCK != 0 {
			return errno(unix.EAGAIN)
		}
		p.waiters = addWaiter(p.waiters, t, p)
		return t.blockRestart(waitPipeRead, p)
	}
	n := min(count, uint64(len(p.buf)))
	if e := t.mm.copyOut(va, p.buf[:n]); e != 0 {
		return errno(e)
	}
	p.buf = p.buf[n:]
	t.k.kmemUncharge(int(n))
	if len(p.buf) == 0 {
		p.buf = nil
	}
	p.wakeAll(t.k)
	return int64(n)
}

// pipeWrite writes guest memory into a pipe. A blocking write returns
// only when everything is written: the part done so far is kept in
// t.rwDone across the sleeps (the syscall restarts after each).
func (t *Task) pipeWrite(f *file, va, count uint64) int64 {
	p := f.pipe
	done := t.rwDone
	if p.readers == 0 {
		t.rwDone = 0
		t.k.sendSignal(t, int(unix.SIGPIPE), nil)
		if done > 0 {
			return int64(done)
		}
		return errno(unix.EPIPE)
	}
	for done < count {
		space := uint64(pipeBufSize - len(p.buf))
		want := count - done
		// Writes of at most PIPE_BUF are atomic: all or nothing.
		if space == 0 || count <= pipeBuf && space < want {
			if f.flags&unix.O_NONBLOCK != 0 {
				t.rwDone = 0
				if done > 0 {
					return int64(done)
				}
				return errno(unix.EAGAIN)
			}
			t.rwDone = done
			p.waiters = addWaiter(p.waiters, t, p)
			return t.blockRestart(waitPipeWrite, p)
		}
		n := min(space, want)
		// The buffer's pages are kernel memory (alloc_page in
		// pipe_write): ENOMEM when it runs out.
		if !t.k.kmemCharge(int(n)) {
			t.rwDone = 0
			if done > 0 {
				return int64(done)
			}
			return errno(unix.ENOMEM)
		}
		old := len(p.buf)
		p.buf = slices.Grow(p.buf, int(n))[:old+int(n)]
		got, e := t.mm.copyInPartial(p.buf[old:], va+done)
		p.buf = p.buf[:old+got]
		t.k.kmemUncharge(int(n) - got)
		done += uint64(got)
		p.wakeAll(t.k)
		if e != 0 {
			t.rwDone = 0
			if done > 0 {
				return int64(done)
			}
			return errno(e)
		}
	}
	t.rwDone = 0
	return int64(done)
}
