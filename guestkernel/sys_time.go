package guestkernel

import (
	"math"
	"time"

	"golang.org/x/sys/unix"
)

// Clocks are the host's: the guest kernel has no clock of its own, and
// reading the host clock keeps guest time in step with native runs.

const maxClock = unix.CLOCK_BOOTTIME_ALARM

func validClock(id uint64) bool {
	return int32(id) >= 0 && int32(id) <= maxClock && id != 10 /* CLOCK_SGI_CYCLE, removed */
}

func putTimespec(b []byte, ts unix.Timespec) {
	le.PutUint64(b, uint64(ts.Sec))
	le.PutUint64(b[8:], uint64(ts.Nsec))
}

// sysClockGettime: clock_gettime(2).
func sysClockGettime(t *Task, a *args) int64 {
	if !validClock(a[0]) {
		return errno(unix.EINVAL)
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(int32(a[0]), &ts); err != nil {
		return errno(err.(unix.Errno))
	}
	var b [16]byte
	putTimespec(b[:], ts)
	return errno(t.mm.copyOut(a[1], b[:]))
}

// sysClockGetres: clock_getres(2).
func sysClockGetres(t *Task, a *args) int64 {
	if !validClock(a[0]) {
		return errno(unix.EINVAL)
	}
	if a[1] == 0 {
		return 0
	}
	var ts unix.Timespec
	if err := unix.ClockGetres(int32(a[0]), &ts); err != nil {
		return errno(err.(unix.Errno))
	}
	var b [16]byte
	putTimespec(b[:], ts)
	return errno(t.mm.copyOut(a[1], b[:]))
}

// sysGettimeofday: gettimeofday(2); the timezone is always zero.
func sysGettimeofday(t *Task, a *args) int64 {
	now := time.Now()
	if a[0] != 0 {
		var b [16]byte
		le.PutUint64(b[:], uint64(now.Unix()))
		le.PutUint64(b[8:], uint64(now.Nanosecond()/1000))
		if e := t.mm.copyOut(a[0], b[:]); e != 0 {
			return errno(e)
		}
	}
	if a[1] != 0 {
		var z [8]byte
		if e := t.mm.copyOut(a[1], z[:]); e != 0 {
			return errno(e)
		}
	}
	return 0
}

// sysTime: time(2).
func sysTime(t *Task, a *args) int64 {
	now := time.Now().Unix()
	if a[0] != 0 {
		if e := t.mm.writeU64(a[0], uint64(now)); e != 0 {
			return errno(e)
		}
	}
	return now
}

func (t *Task) readTimespec(addr uint64) (unix.Timespec, unix.Errno) {
	var b [16]byte
	if e := t.mm.copyIn(b[:], addr); e != 0 {
		return unix.Timespec{}, e
	}
	ts := unix.Timespec{Sec: int64(le.Uint64(b[:])), Nsec: int64(le.Uint64(b[8:]))}
	if ts.Sec < 0 || ts.Nsec < 0 || ts.Nsec >= 1e9 {
		return ts, unix.EINVAL
	}
	return ts, 0
}

// duration is a timespec as a Duration, saturating at KTIME_MAX (about
// 292 years) as timespec64_to_ktime does: a longer timeout is forever,
// not a wrapped negative one that expires at once.
func duration(ts unix.Timespec) time.Duration {
	if ts.Sec >= math.MaxInt64/int64(time.Second) {
		return math.MaxInt64
	}
	return time.Duration(ts.Sec)*time.Second + time.Duration(ts.Nsec)
}

// sysNanosleep: nanosleep(2): the task sleeps on a timer; the scheduler
// runs the others meanwhile.
func sysNanosleep(t *Task, a *args) int64 {
	ts, e := t.readTimespec(a[0])
	if e != 0 {
		return errno(e)
	}
	d := duration(ts)
	return t.sleepFor(d)
}

// sleepFor blocks t for d (0 or less: just returns).
func (t *Task) sleepFor(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return t.blockResult(waitSleep, nil, time.Now().Add(d), 0)
}

// sysClockNanosleep: clock_nanosleep(2), relative or TIMER_ABSTIME.
func sysClockNanosleep(t *Task, a *args) int64 {
	clock, flags := a[0], a[1]
	switch int32(clock) {
	case unix.CLOCK_REALTIME, unix.CLOCK_MONOTONIC, unix.CLOCK_BOOTTIME, unix.CLOCK_TAI:
	case unix.CLOCK_THREAD_CPUTIME_ID:
		return errno(unix.EINVAL)
	default:
		if !validClock(clock) {
			return errno(unix.EINVAL)
		}
		return errno(unix.ENOTSUP)
	}
	ts, e := t.readTimespec(a[2])
	if e != 0 {
		return errno(e)
	}
	d := duration(ts)
	if flags&unix.TIMER_ABSTIME != 0 {
		var now unix.Timespec
		unix.ClockGettime(int32(clock), &now)
		d -= time.Duration(now.Sec)*time.Second + time.Duration(now.Nsec)
	}
	return t.sleepFor(d)
}

// sysSchedYield: sched_yield(2) lets the next runnable task go first.
func sysSchedYield(t *Task, a *args) int64 {
	if len(t.k.runq) == 0 {
		return 0
	}
	return errYield
}
