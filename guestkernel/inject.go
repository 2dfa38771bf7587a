package guestkernel

// Systematic fault injection from the host (nsvm inject): arm fail-nth on
// the task making the chosen syscall (its K-th occurrence), for exactly
// that call, as syzkaller does from inside the guest; then audit that a
// failed call left everything as it was.

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/bobuhiro11/gokvm/kvm"
	"golang.org/x/sys/unix"

	"github.com/nsvm/nsvm/fault"
)

// FailArm says which call to arm and with what fail-nth.
type FailArm struct {
	Syscall    string // by name (clone, fork, unshare, ...)
	Occurrence int    // 1-based, counted over all tasks
	Nth        uint32

	seen   int
	result *ArmResult
}

// ArmResult is what happened to the armed call.
type ArmResult struct {
	Reached  bool   // the call was made
	Injected bool   // the fault fired in it
	Site     string // where
	Ret      int64  // the call's result (negative errno)
	Leaks    []string
	Poisoned bool // the documented pid-namespace poisoning happened
}

// Result returns what the armed call did (nil until it ran).
func (a *FailArm) Result() *ArmResult { return a.result }

// auditState is what must be the same before and after a failed call.
type auditState struct {
	objects                         Objects
	nsAudit                         string
	nsproxy                         any
	nsRefs, credRefs, mmUsers       int
	filesRefs, openFDs, sighandRefs int
	fsUsers, children               int
	pidNSAdding                     bool
	regs                            kvm.Regs
	fsBase, gsBase                  uint64
	xsave                           []byte
	pidsInNS                        []int
}

func (k *Kernel) snapshot(t *Task, r *kvm.Regs, s *kvm.Sregs) auditState {
	st := auditState{
		objects:     k.Objects(),
		nsproxy:     t.nsproxy,
		nsRefs:      t.nsproxy.Refs,
		credRefs:    t.cred.refs,
		mmUsers:     t.mm.users,
		filesRefs:   t.files.refs,
		sighandRefs: t.sighand.refs,
		fsUsers:     t.fs.users,
		children:    len(t.children),
		pidNSAdding: t.nsproxy.PIDForChildren.Adding,
		regs:        *r,
		fsBase:      s.FS.Base,
		gsBase:      s.GS.Base,
	}
	if err := k.AuditNamespaces(); err != nil {
		st.nsAudit = err.Error()
	}
	for _, e := range t.files.fds {
		if e.f != nil {
			st.openFDs++
		}
	}
	st.xsave = make([]byte, k.cpu.XSAVESize())
	if k.fpuOwner == t {
		k.cpu.GetXSAVE(st.xsave)
	} else {
		copy(st.xsave, t.fpu)
	}
	for _, l := range t.pids {
		st.pidsInNS = append(st.pidsInNS, l.nr)
	}
	return st
}

// diff lists what differs between before and after (the auditor).
func (a auditState) diff(b auditState) (leaks []string, poisoned bool) {
	add := func(format string, v ...any) { leaks = append(leaks, fmt.Sprintf(format, v...)) }
	ao, bo := a.objects, b.objects
	for _, c := range []struct {
		name   string
		av, bv int
	}{
		{"tasks", ao.Tasks, bo.Tasks}, {"pids", ao.Pids, bo.Pids}, {"creds", ao.Creds, bo.Creds},
		{"files", ao.Files, bo.Files}, {"fd tables", ao.FDTables, bo.FDTables}, {"pages", ao.Pages, bo.Pages},
		{"namespaces", ao.Namespaces, bo.Namespaces}, {"nsproxies", ao.Nsproxies, bo.Nsproxies},
		{"futex waiters", ao.FutexWaiters, bo.FutexWaiters},
		{"nsproxy count", a.nsRefs, b.nsRefs}, {"cred count", a.credRefs, b.credRefs},
		{"mm users", a.mmUsers, b.mmUsers}, {"fd table count", a.filesRefs, b.filesRefs},
		{"open fds", a.openFDs, b.openFDs}, {"sighand count", a.sighandRefs, b.sighandRefs},
		{"fs_struct users", a.fsUsers, b.fsUsers}, {"children", a.children, b.children},
	} {
		if c.av != c.bv {
			add("%s %d -> %d", c.name, c.av, c.bv)
		}
	}
	if b.nsAudit != a.nsAudit {
		add("namespace audit: %s", b.nsAudit)
	}
	if a.nsproxy != b.nsproxy {
		add("the caller's nsproxy changed")
	}
	ra, rb := a.regs, b.regs
	ra.RAX, rb.RAX = 0, 0
	if ra != rb || a.fsBase != b.fsBase || a.gsBase != b.gsBase {
		add("the caller's registers changed")
	}
	if !bytes.Equal(a.xsave, b.xsave) {
		add("the caller's XSAVE image changed")
	}
	if fmt.Sprint(a.pidsInNS) != fmt.Sprint(b.pidsInNS) {
		add("the caller's pid changed")
	}
	poisoned = a.pidNSAdding && !b.pidNSAdding
	return leaks, poisoned
}

// armEntry runs at a syscall's entry: arm if this is the chosen call.
func (k *Kernel) armEntry(t *Task, nr uint64, r *kvm.Regs, s *kvm.Sregs) (armed bool, before auditState) {
	a := k.cfg.FailArm
	if a == nil || a.result != nil || sysName(nr) != a.Syscall {
		return false, auditState{}
	}
	a.seen++
	if a.seen != a.Occurrence {
		return false, auditState{}
	}
	before = k.snapshot(t, r, s)
	t.fault.FailNth = a.Nth
	if k.cfg.Fault != nil {
		k.cfg.Fault.Injected = nil
	}
	return true, before
}

// armExit runs when the armed call returns: disarm, record, audit.
func (k *Kernel) armExit(t *Task, ret int64, r *kvm.Regs, s *kvm.Sregs, before auditState) {
	a := k.cfg.FailArm
	res := &ArmResult{Reached: true, Ret: ret}
	if in := k.cfg.Fault; in != nil && len(in.Injected) > 0 {
		res.Injected = true
		res.Site = in.Injected[0].Site
	}
	t.fault.FailNth = 0 // the caller disarms after the call
	if res.Injected && ret < 0 && ret >= -4095 {
		after := k.snapshot(t, r, s)
		res.Leaks, res.Poisoned = before.diff(after)
	}
	a.result = res
}

// SweepRow is one run of a sweep.
type SweepRow struct {
	Nth      uint32   `json:"nth"`
	Injected bool     `json:"injected"`
	Site     string   `json:"site,omitempty"`
	Step     string   `json:"step,omitempty"`
	Errno    string   `json:"errno"`
	Outcome  string   `json:"outcome"`
	Unwind   string   `json:"unwind"`
	Leaks    []string `json:"leaks,omitempty"`
	Poisoned bool     `json:"poisoned,omitempty"`
}

// ErrnoOf renders a syscall result as "ENOMEM" or "ok (N)".
func ErrnoOf(ret int64) string {
	if ret < 0 && ret >= -4095 {
		return unix.ErrnoName(unix.Errno(-ret))
	}
	return fmt.Sprintf("ok (%d)", ret)
}

// SweepRowFrom builds a row from a run's arm result and status.
func SweepRowFrom(nth uint32, res *ArmResult, st Status, err error) SweepRow {
	row := SweepRow{Nth: nth}
	switch {
	case err != nil:
		row.Outcome = "nsvm error: " + strings.SplitN(err.Error(), "\n", 2)[0]
	case st.Signal != 0:
		row.Outcome = "killed by " + sigName(st.Signal)
	default:
		row.Outcome = fmt.Sprintf("exit %d", st.Code)
	}
	if res == nil || !res.Reached {
		row.Errno = "-"
		row.Unwind = "call not reached"
		return row
	}
	row.Injected, row.Site = res.Injected, res.Site
	row.Step = fault.StepOf(res.Site)
	row.Errno = ErrnoOf(res.Ret)
	row.Leaks, row.Poisoned = res.Leaks, res.Poisoned
	switch {
	case !res.Injected:
		row.Unwind = "-"
	case res.Ret >= 0:
		row.Unwind = "call succeeded anyway"
	case len(res.Leaks) == 0:
		row.Unwind = "clean"
		if res.Poisoned {
			row.Unwind = "clean (pid namespace poisoned, as Linux)"
		}
	default:
		sort.Strings(row.Leaks)
		row.Unwind = "LEAK"
	}
	return row
}
