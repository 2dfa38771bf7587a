package guestkernel

// SysV message queues (ipc/msg.c), one set per IPC namespace: the IPC
// family nsvm models, so that IPC namespace isolation can be observed.

import (
	"time"

	"golang.org/x/sys/unix"
)

const (
	ipcPrivate = 0
	ipcCreat   = 0o1000
	ipcExcl    = 0o2000
	ipcNoWait  = 0o4000
	ipcRmid    = 0
	ipcSet     = 1
	ipcStat    = 2
	msgNoError = 0o10000
	msgExcept  = 0o20000
	msgCopy    = 0o40000

	msgMax    = 8192  // MSGMAX: largest message
	msgMnb    = 16384 // MSGMNB: bytes per queue
	msgMni    = 32000 // MSGMNI: queues per namespace
	seqMul    = 32768 // SEQ_MULTIPLIER
	msqidDsSz = 120   // struct msqid64_ds
)

type message struct {
	mtype int64
	text  []byte
}

type msgQueue struct {
	key          int32
	idx, seq     int
	uid, gid     uint32 // owner (kuid/kgid)
	cuid, cgid   uint32 // creator
	mode         uint32
	msgs         []message
	bytes        int
	qbytes       int
	stime, rtime int64
	ctime        int64
	lspid, lrpid int
	waiters      []*Task
	removed      bool
}

// ipcState is an IPC namespace's SysV objects.
type ipcState struct {
	k      *Kernel
	queues []*msgQueue // by index
	seq    int
}

func (t *Task) ipc() *ipcState {
	n := t.nsproxy.IPC
	if n.Objects == nil {
		n.Objects = &ipcState{k: t.k}
	}
	return n.Objects.(*ipcState)
}

// kmem is the kernel memory a queue holds: itself and its messages.
func (q *msgQueue) kmem() int { return kmemMsgQueue + len(q.msgs)*kmemMsg + q.bytes }

// Release frees every queue of a namespace that is going away
// (free_ipc_ns → msg_exit_ns); package ns calls it.
func (s *ipcState) Release() {
	for i, q := range s.queues {
		if q != nil {
			s.k.kmemUncharge(q.kmem())
			q.removed = true
			q.wakeAll(s.k)
			s.queues[i] = nil
		}
	}
}

func (s *ipcState) lookup(id int) *msgQueue {
	if id < 0 {
		return nil
	}
	idx, seq := id%seqMul, id/seqMul
	if idx >= len(s.queues) || s.queues[idx] == nil || s.queues[idx].seq != seq {
		return nil
	}
	return s.queues[idx]
}

func (q *msgQueue) id() int { return q.seq*seqMul + q.idx }

// ipcPerm is ipcperms: owner, group, other bits; CAP_IPC_OWNER overrides.
func (t *Task) ipcPerm(q *msgQueue, want uint32) bool {
	c := t.cred
	mode := q.mode
	switch {
	case c.euid == q.uid || c.euid == q.cuid:
		mode >>= 6
	case c.egid == q.gid || c.egid == q.cgid:
		mode >>= 3
	}
	if mode&want == want {
		return true
	}
	return t.k.nsCapable(t, t.nsproxy.IPC.Owner, capIPCOwner)
}

const capIPCOwner = 15

// sysMsgget: msgget(key, msgflg).
func sysMsgget(t *Task, a *args) int64 {
	key, flg := int32(a[0]), uint32(a[1])
	s := t.ipc()
	if key != ipcPrivate {
		for _, q := range s.queues {
			if q != nil && q.key == key {
				if flg&ipcCreat != 0 && flg&ipcExcl != 0 {
					return errno(unix.EEXIST)
				}
				if !t.ipcPerm(q, (flg>>6)&7|(flg>>3)&7|flg&7) {
					return errno(unix.EACCES)
				}
				return int64(q.id())
			}
		}
		if flg&ipcCreat == 0 {
			return errno(unix.ENOENT)
		}
	}
	idx := -1
	for i, q := range s.queues {
		if q == nil {
			idx = i
			break
		}
	}
	if idx < 0 {
		if len(s.queues) >= msgMni {
			return errno(unix.ENOSPC)
		}
		idx = len(s.queues)
		s.queues = append(s.queues, nil)
	}
	// newque: the queue is kernel memory.
	if !t.k.kmemCharge(kmemMsgQueue) {
		return errno(unix.ENOMEM)
	}
	c := t.cred
	q := &msgQueue{key: key, idx: idx, seq: s.seq, uid: c.euid, gid: c.egid, cuid: c.euid, cgid: c.egid,
		mode: flg & 0o777, qbytes: msgMnb, ctime: time.Now().Unix()}
	s.seq = (s.seq + 1) % (1 << 16)
	s.queues[idx] = q
	return int64(q.id())
}

// sysMsgsnd: msgsnd(msqid, msgp, msgsz, msgflg).
func sysMsgsnd(t *Task, a *args) int64 {
	id, msgp, size, flg := int(int32(a[0])), a[1], a[2], uint32(a[3])
	if int64(size) < 0 || size > msgMax || id < 0 {
		return errno(unix.EINVAL)
	}
	mtype, e := t.mm.readU64(msgp)
	if e != 0 {
		return errno(e)
	}
	if int64(mtype) < 1 {
		return errno(unix.EINVAL)
	}
	s := t.ipc()
	q := s.lookup(id)
	if q == nil {
		return errno(unix.EINVAL)
	}
	if !t.ipcPerm(q, 2) {
		return errno(unix.EACCES)
	}
	// load_msg: the message is kernel memory, size <= MSGMAX.
	if !t.k.kmemCharge(kmemMsg + int(size)) {
		return errno(unix.ENOMEM)
	}
	text := make([]byte, size)
	if e := t.mm.copyIn(text, msgp+8); e != 0 {
		t.k.kmemUncharge(kmemMsg + int(size))
		return errno(e)
	}
	// msg_fits_inqueue: the bytes, and the number of messages, are
	// bounded by msg_qbytes (so that empty messages cannot pile up).
	if q.bytes+int(size) > q.qbytes || len(q.msgs)+1 > q.qbytes {
		t.k.kmemUncharge(kmemMsg + int(size))
		if flg&ipcNoWait != 0 {
			return errno(unix.EAGAIN)
		}
		q.waiters = addWaiter(q.waiters, t, q)
		return t.blockRestart(waitPipeWrite, q)
	}
	q.msgs = append(q.msgs, message{int64(mtype), text})
	q.bytes += int(size)
	q.lspid, q.stime = t.pid(), time.Now().Unix()
	q.wakeAll(t.k)
	return 0
}

func (q *msgQueue) wakeAll(k *Kernel) {
	w := q.waiters
	q.waiters = nil
	for _, t := range w {
		k.wake(t, 0)
	}
}

// sysMsgrcv: msgrcv(msqid, msgp, msgsz, msgtyp, msgflg).
func sysMsgrcv(t *Task, a *args) int64 {
	id, msgp, size, typ, flg := int(int32(a[0])), a[1], a[2], int64(a[3]), uint32(a[4])
	if int64(size) < 0 || id < 0 {
		return errno(unix.EINVAL)
	}
	if flg&msgCopy != 0 {
		return errno(unix.ENOSYS) // checkpoint/restore only
	}
	s := t.ipc()
	q := s.lookup(id)
	if q == nil {
		return errno(unix.EINVAL)
	}
	if !t.ipcPerm(q, 4) {
		return errno(unix.EACCES)
	}
	pick := -1
	for i, m := range q.msgs {
		switch {
		case typ == 0:
		case typ > 0 && flg&msgExcept == 0 && m.mtype != typ:
			continue
		case typ > 0 && flg&msgExcept != 0 && m.mtype == typ:
			continue
		case typ < 0 && m.mtype > -typ:
			continue
		}
		if typ < 0 && pick >= 0 && m.mtype >= q.msgs[pick].mtype {
			continue // the lowest type wins
		}
		pick = i
		if typ >= 0 {
			break
		}
	}
	if pick < 0 {
		if flg&ipcNoWait != 0 {
			return errno(unix.ENOMSG)
		}
		q.waiters = addWaiter(q.waiters, t, q)
		return t.blockRestart(waitPipeRead, q)
	}
	m := q.msgs[pick]
	n := len(m.text)
	if uint64(n) > size {
		if flg&msgNoError == 0 {
			return errno(unix.E2BIG)
		}
		n = int(size)
	}
	if e := t.mm.writeU64(msgp, uint64(m.mtype)); e != 0 {
		return errno(e)
	}
	if e := t.mm.copyOut(msgp+8, m.text[:n]); e != 0 {
		return errno(e)
	}
	q.msgs = append(q.msgs[:pick], q.msgs[pick+1:]...)
	q.bytes -= len(m.text)
	t.k.kmemUncharge(kmemMsg + len(m.text))
	q.lrpid, q.rtime = t.pid(), time.Now().Unix()
	q.wakeAll(t.k)
	return int64(n)
}

// sysMsgctl: msgctl(msqid, cmd, buf): IPC_RMID, IPC_STAT, IPC_SET.
func sysMsgctl(t *Task, a *args) int64 {
	id, cmd, buf := int(int32(a[0])), int(a[1])&^0x100, a[2] // IPC_64
	if id < 0 {
		return errno(unix.EINVAL)
	}
	s := t.ipc()
	q := s.lookup(id)
	if q == nil {
		return errno(unix.EINVAL)
	}
	owner := t.cred.euid == q.uid || t.cred.euid == q.cuid || t.k.nsCapable(t, t.nsproxy.IPC.Owner, capSysAdmin)
	switch cmd {
	case ipcRmid:
		if !owner {
			return errno(unix.EPERM)
		}
		s.queues[q.idx] = nil
		t.k.kmemUncharge(q.kmem())
		q.removed = true
		q.wakeAll(t.k) // sleepers rerun and find the queue gone
		return 0
	case ipcStat:
		if !t.ipcPerm(q, 4) {
			return errno(unix.EACCES)
		}
		var d [msqidDsSz]byte
		u := t.cred.userNS
		le.PutUint32(d[0:], uint32(q.key))
		le.PutUint32(d[4:], u.FromKUID(q.uid))
		le.PutUint32(d[8:], u.FromKGID(q.gid))
		le.PutUint32(d[12:], u.FromKUID(q.cuid))
		le.PutUint32(d[16:], u.FromKGID(q.cgid))
		le.PutUint16(d[20:], uint16(q.mode))
		le.PutUint16(d[24:], uint16(q.seq))
		le.PutUint64(d[48:], uint64(q.stime))
		le.PutUint64(d[56:], uint64(q.rtime))
		le.PutUint64(d[64:], uint64(q.ctime))
		le.PutUint64(d[72:], uint64(q.bytes))
		le.PutUint64(d[80:], uint64(len(q.msgs)))
		le.PutUint64(d[88:], uint64(q.qbytes))
		le.PutUint32(d[96:], uint32(q.lspid))
		le.PutUint32(d[100:], uint32(q.lrpid))
		return errno(t.mm.copyOut(buf, d[:]))
	case ipcSet:
		if !owner {
			return errno(unix.EPERM)
		}
		var d [msqidDsSz]byte
		if e := t.mm.copyIn(d[:], buf); e != 0 {
			return errno(e)
		}
		// Raising msg_qbytes above msgmnb takes CAP_SYS_RESOURCE
		// (capable(), the initial user namespace's); the queue's
		// memory stays bounded by kernel memory either way.
		qbytes := le.Uint64(d[88:])
		if qbytes > msgMnb && !t.k.capable(t, capSysResource) {
			return errno(unix.EPERM)
		}
		q.mode = uint32(le.Uint16(d[20:])) & 0o777
		q.qbytes = int(min(qbytes, 1<<62))
		q.ctime = time.Now().Unix()
		return 0
	}
	return errno(unix.EINVAL)
}
