package guestkernel

import (
	"fmt"
	"io"
	"strings"
)

// The task table for humans: `nsvm run --ps` prints every task the run
// created and how it ended; SIGQUIT during a run prints the live ones.

// taskRecord is one line of the run's process accounting.
type taskRecord struct {
	pid, tid, ppid int
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
	k.history = append(k.history, &taskRecord{pid: t.pid(), tid: t.tid, ppid: t.ppid(), comm: t.comm, thread: !t.isLeader()})
	t.record = k.history[len(k.history)-1]
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

// PrintHistory writes every task of the run, in creation order.
func (k *Kernel) PrintHistory(w io.Writer) {
	if len(k.history) >= maxHistory {
		defer fmt.Fprintf(w, "(the first %d tasks of the run; later ones are not recorded)\n", maxHistory)
	}
	fmt.Fprintf(w, "%6s %6s %6s  %-16s %-7s %s\n", "PID", "TID", "PPID", "COMMAND", "KIND", "END")
	for _, r := range k.history {
		kind := "process"
		if r.thread {
			kind = "thread"
		}
		end := "still running"
		if r.ended {
			end = waitStatusString(r.status)
		}
		fmt.Fprintf(w, "%6d %6d %6d  %-16s %-7s %s\n", r.pid, r.tid, r.ppid, r.comm, kind, end)
	}
}

// PrintTasks writes the live tasks with their state and what they wait on.
func (k *Kernel) PrintTasks(w io.Writer) {
	fmt.Fprintf(w, "%6s %6s %6s  %-16s %-14s %s\n", "PID", "TID", "PPID", "COMMAND", "STATE", "WAIT")
	for _, t := range k.sortedTasks() {
		what := ""
		if t.state == taskBlocked {
			what = [...]string{"", "wait4", "pipe read", "pipe write", "futex", "sleep", "vfork", "pause"}[t.wait.kind]
		}
		fmt.Fprintf(w, "%6d %6d %6d  %-16s %-14s %s\n", t.pid(), t.tid, t.ppid(), t.comm, stateName(t.state), what)
	}
}

// RequestDump asks the running kernel to print its task table at the
// next tick (SIGQUIT). Safe from any goroutine.
func (k *Kernel) RequestDump() { k.dumpReq.Store(true) }

func (k *Kernel) maybeDump() {
	if k.dumpReq.Swap(false) {
		var b strings.Builder
		b.WriteString("nsvm: tasks (SIGQUIT)\n")
		k.PrintTasks(&b)
		fmt.Fprint(k.cfg.Log, b.String())
	}
}
