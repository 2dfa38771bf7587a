package guestkernel

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/nsvm/nsvm/vm"
)

// The task table for humans: `nsvm run --ps` prints every task the run
// created and how it ended; SIGQUIT during a run prints the live ones.

// taskRecord is one line of the run's process accounting. Its ids are
// all in one view, the initial pid namespace's (nsvm's own, as ps on the
// host shows every process); nspid is the process's number at each level
// when it is in a nested pid namespace (NSpid in /proc/PID/status).
type taskRecord struct {
	pid, tid, ppid int
	nspid          string
	comm           string
	thread         bool
	status         int
	ended          bool
}

// maxHistory bounds the run's task table: a program that forks without
// end would otherwise grow it without end. --ps lists the first
// maxHistory tasks.
const maxHistory = 1 << 16

func (k *Kernel) recordTask(t *Task) {
	if len(k.history) >= maxHistory {
		return
	}
	k.history = append(k.history, &taskRecord{pid: t.tg.tgid, tid: t.tid, ppid: t.hostPPID(), nspid: t.nspid(),
		comm: t.comm, thread: !t.isLeader()})
	t.record = k.history[len(k.history)-1]
}

// hostPPID is the parent process's pid in the initial pid namespace.
func (t *Task) hostPPID() int {
	if t.parent == nil {
		return 0
	}
	return t.parent.tg.tgid
}

// nspid is the process's pid at each pid-namespace level, from the
// initial one down, as NSpid shows it ("4 1"); "-" when the process is
// in the initial pid namespace, where its one number is PID.
func (t *Task) nspid() string {
	l := t.tg.leader
	if l == nil {
		l = t
	}
	if len(l.pids) < 2 {
		return "-"
	}
	nrs := make([]string, len(l.pids))
	for i, p := range l.pids {
		nrs[i] = strconv.Itoa(p.nr)
	}
	return strings.Join(nrs, " ")
}

func stateName(s int) string {
	return [...]string{"R (runnable)", "S (sleeping)", "T (stopped)", "Z (zombie)", "X (dead)"}[s]
}

func waitStatusString(w int) string {
	st := statusFromWait(w)
	if st.Signal != 0 {
		return "killed by " + sigName(st.Signal)
	}
	return fmt.Sprintf("exited %d", st.Code)
}

// PrintHistory writes every task of the run, in creation order: PID, TID
// and PPID as the initial pid namespace numbers them, NSPID the process's
// numbers in nested pid namespaces.
func (k *Kernel) PrintHistory(w io.Writer) {
	if len(k.history) >= maxHistory {
		defer fmt.Fprintf(w, "(the first %d tasks of the run; later ones are not recorded)\n", maxHistory)
	}
	fmt.Fprintf(w, "%6s %6s %6s  %-10s %-16s %-7s %s\n", "PID", "TID", "PPID", "NSPID", "COMMAND", "KIND", "END")
	for _, r := range k.history {
		kind := "process"
		if r.thread {
			kind = "thread"
		}
		end := "still running"
		if r.ended {
			end = waitStatusString(r.status)
		}
		fmt.Fprintf(w, "%6d %6d %6d  %-10s %-16s %-7s %s\n", r.pid, r.tid, r.ppid, r.nspid, r.comm, kind, end)
	}
}

// PrintTasks writes the live tasks with their state and what they wait
// on, with the ids of PrintHistory.
func (k *Kernel) PrintTasks(w io.Writer) {
	fmt.Fprintf(w, "%6s %6s %6s  %-10s %-16s %-14s %s\n", "PID", "TID", "PPID", "NSPID", "COMMAND", "STATE", "WAIT")
	for _, t := range k.sortedTasks() {
		what := ""
		if t.state == taskBlocked {
			what = [...]string{"", "wait4", "pipe read", "pipe write", "futex", "sleep", "vfork", "pause"}[t.wait.kind]
		}
		fmt.Fprintf(w, "%6d %6d %6d  %-10s %-16s %-14s %s\n", t.tg.tgid, t.tid, t.hostPPID(), t.nspid(), t.comm, stateName(t.state), what)
	}
}

// RequestDump asks the running kernel to print its task table (SIGQUIT):
// it interrupts the vCPU, whose HandleInterrupt prints it, tick or no
// tick. Safe from any goroutine.
func (k *Kernel) RequestDump() {
	k.dumpReq.Store(true)
	if c, ok := k.cpu.(*vm.VCPU); ok {
		c.Interrupt()
	}
}

func (k *Kernel) maybeDump() {
	if k.dumpReq.Swap(false) {
		var b strings.Builder
		b.WriteString("nsvm: tasks (SIGQUIT)\n")
		k.PrintTasks(&b)
		fmt.Fprint(k.cfg.Log, b.String())
	}
}
