package guestkernel

import (
	"strings"
	"testing"

	"github.com/nsvm/nsvm/ns"
)

// TestPSOneView: every id of a --ps row (and of the SIGQUIT table) is in
// the initial pid namespace's view; a process in a nested pid namespace
// also shows its numbers there, as NSpid does. The scene: the program
// (2) forked 3, which unshared its pid namespace and forked 4, pid 1 of
// the new namespace; 4 has a thread, 5.
func TestPSOneView(t *testing.T) {
	e := newTestEnv(t)
	k, prog := e.k, e.t
	child := &ns.PIDNS{Common: ns.Common{Kind: ns.PID, Inum: 4026531844}, Parent: k.nsw.InitPID, Level: 1, Used: map[int]bool{}}
	mk := func(parent *Task, tid int, pids []pidLink, leader *Task) *Task {
		tg := &threadGroup{tgid: tid}
		if leader != nil {
			tg = leader.tg
		}
		p := &Task{k: k, tid: tid, tg: tg, comm: "prog", parent: parent, pids: pids}
		if leader == nil {
			tg.leader = p
		}
		tg.threads = append(tg.threads, p)
		k.tasks[tid] = p
		k.recordTask(p)
		return p
	}
	a := mk(prog, 3, []pidLink{{k.nsw.InitPID, 3}}, nil)
	b := mk(a, 4, []pidLink{{k.nsw.InitPID, 4}, {child, 1}}, nil)
	mk(a, 5, []pidLink{{k.nsw.InitPID, 5}, {child, 2}}, b)
	var hist, live strings.Builder
	k.PrintHistory(&hist)
	k.PrintTasks(&live)
	for _, tc := range []struct {
		out  string
		want []string // the rows' fields up to COMMAND
	}{
		{hist.String(), []string{"PID TID PPID NSPID COMMAND", "2 2 1 - test", "3 3 2 - prog", "4 4 3 4 1 prog", "4 5 3 4 1 prog"}},
		{live.String(), []string{"PID TID PPID NSPID COMMAND", "2 2 1 - test", "3 3 2 - prog", "4 4 3 4 1 prog", "4 5 3 4 1 prog"}},
	} {
		lines := strings.Split(strings.TrimSuffix(tc.out, "\n"), "\n")
		if len(lines) != len(tc.want) {
			t.Errorf("%d lines, want %d:\n%s", len(lines), len(tc.want), tc.out)
			continue
		}
		for i, l := range lines {
			if got := strings.Join(strings.Fields(l), " "); !strings.HasPrefix(got, tc.want[i]+" ") {
				t.Errorf("line %d = %q, want it to start with %q", i, l, tc.want[i])
			}
		}
	}
}
