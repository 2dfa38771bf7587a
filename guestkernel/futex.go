package guestkernel

// futex(2): FUTEX_WAIT, FUTEX_WAKE and their _BITSET forms, what glibc's
// mutexes, condition variables and pthread_join use, plus the wake that
// CLONE_CHILD_CLEARTID does at thread exit. Waiters are keyed like
// get_futex_key: (mm, address) for private memory, the physical address
// for shared mappings.

import (
	"time"

	"golang.org/x/sys/unix"

	x86 "github.com/nsvm/nsvm/arch/x86_64"
)

const (
	futexWait          = 0
	futexWake          = 1
	futexWaitBitset    = 9
	futexWakeBitset    = 10
	futexPrivateFlag   = 128
	futexClockRealtime = 256
	futexCmdMask       = ^(futexPrivateFlag | futexClockRealtime)

	etimedout = unix.ETIMEDOUT
)

var zeroTime time.Time

type futexKey struct {
	mm   *MM
	addr uint64 // virtual (private) or physical (shared)
}

type futexWaiter struct {
	t      *Task
	key    futexKey
	bitset uint32
}

func (k *Kernel) futexKeyOf(mm *MM, va uint64) futexKey {
	if i := mm.find(va); i >= 0 && mm.vmas[i].shared {
		if pte := mm.pt.Lookup(va); pte&x86.PTEPresent != 0 {
			return futexKey{addr: pte&x86.PTEAddr | va&(pageSize-1)}
		}
	}
	return futexKey{mm: mm, addr: va}
}

// futexWake wakes up to n waiters on (mm, va) whose bitset matches.
func (k *Kernel) futexWake(t *Task, mm *MM, va uint64, n int, bitset uint32) int {
	key := k.futexKeyOf(mm, va)
	woken := 0
	rest := k.futexQ[:0]
	for _, w := range k.futexQ {
		if woken < n && w.key == key && w.bitset&bitset != 0 && w.t.state == taskBlocked {
			k.wake(w.t, 0)
			woken++
			continue
		}
		rest = append(rest, w)
	}
	k.futexQ = rest
	return woken
}

// futexDequeue removes t from the futex queue (timeout, death).
func (k *Kernel) futexDequeue(t *Task) {
	rest := k.futexQ[:0]
	for _, w := range k.futexQ {
		if w.t != t {
			rest = append(rest, w)
		}
	}
	k.futexQ = rest
}

// sysFutex: futex(uaddr, op, val, timeout, uaddr2, val3).
func sysFutex(t *Task, a *args) int64 {
	uaddr, op, val, utime, val3 := a[0], a[1], uint32(a[2]), a[3], uint32(a[5])
	cmd := int(op) & futexCmdMask
	if uaddr&3 != 0 {
		return errno(unix.EINVAL)
	}
	if op&futexClockRealtime != 0 && cmd != futexWaitBitset {
		return errno(unix.ENOSYS)
	}
	switch cmd {
	case futexWait, futexWaitBitset:
		bitset := ^uint32(0)
		if cmd == futexWaitBitset {
			if val3 == 0 {
				return errno(unix.EINVAL)
			}
			bitset = val3
		}
		var deadline time.Time
		if utime != 0 {
			ts, e := t.readTimespec(utime)
			if e != 0 {
				return errno(e)
			}
			d := duration(ts)
			if cmd == futexWait {
				deadline = time.Now().Add(d) // relative
			} else {
				// Absolute, on CLOCK_MONOTONIC or CLOCK_REALTIME.
				clock := int32(unix.CLOCK_MONOTONIC)
				if op&futexClockRealtime != 0 {
					clock = unix.CLOCK_REALTIME
				}
				var now unix.Timespec
				unix.ClockGettime(clock, &now)
				deadline = time.Now().Add(d - (time.Duration(now.Sec)*time.Second + time.Duration(now.Nsec)))
			}
		}
		var b [4]byte
		if e := t.mm.copyIn(b[:], uaddr); e != 0 {
			return errno(e)
		}
		if le.Uint32(b[:]) != val {
			return errno(unix.EAGAIN)
		}
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			return errno(etimedout)
		}
		t.k.futexQ = append(t.k.futexQ, futexWaiter{t: t, key: t.k.futexKeyOf(t.mm, uaddr), bitset: bitset})
		return t.blockResult(waitFutex, nil, deadline, 0)
	case futexWake, futexWakeBitset:
		bitset := ^uint32(0)
		if cmd == futexWakeBitset {
			if val3 == 0 {
				return errno(unix.EINVAL)
			}
			bitset = val3
		}
		return int64(t.k.futexWake(t, t.mm, uaddr, int(int32(val)), bitset))
	}
	return errno(unix.ENOSYS)
}
