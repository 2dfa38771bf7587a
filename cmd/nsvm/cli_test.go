package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"nsvm/internal/cbuild"
)

// TestPS: --ps lists every task of the run, in creation order, with how
// it ended; fork_life creates the program plus 40-odd children.
func TestPS(t *testing.T) {
	requireKVM(t)
	bin := cbuild.Static(t, filepath.Join("testdata", "fork_life.c"))
	r := runNSVM(t, "run", "--ps", bin)
	if r.status != 0 {
		t.Fatalf("status %d\n%s", r.status, clip(r.stderr))
	}
	lines := strings.Split(strings.TrimSpace(string(r.stderr)), "\n")
	if len(lines) < 20 || !strings.Contains(lines[0], "PID") || !strings.Contains(lines[0], "END") {
		t.Fatalf("--ps printed %d lines:\n%s", len(lines), clip(r.stderr))
	}
	row := regexp.MustCompile(`^\s*(\d+)\s+(\d+)\s+(\d+)\s+\S+\s+(process|thread)\s+(exited \d+|killed by SIG\w+)$`)
	for _, l := range lines[1:] {
		if !row.MatchString(l) {
			t.Errorf("unexpected --ps line %q", l)
		}
	}
	if m := row.FindStringSubmatch(lines[1]); m == nil || m[1] != "2" || m[3] != "1" {
		t.Errorf("the first task should be the program, pid 2, child of init: %q", lines[1])
	}
}

// TestTraceForks: --trace marks lines with the task once there are
// several, and shows fork's child pid and the wait that reaps it.
func TestTraceForks(t *testing.T) {
	requireKVM(t)
	bin := cbuild.Static(t, filepath.Join("testdata", "vfork_mem.c"))
	r := runNSVM(t, "run", "--trace", bin)
	if r.status != 0 {
		t.Fatalf("status %d\n%s", r.status, clip(r.stderr))
	}
	trace := string(r.stderr)
	// A vfork sleeps until the child exits, so strace-style it ends as
	// "<... vfork resumed> = PID".
	clone := regexp.MustCompile(`(?m)^(\[pid +\d+\] )?(vfork|clone|clone3)\(.*\) = (\d+)$|<\.\.\. (vfork|clone|clone3) resumed> = (\d+)$`)
	m := clone.FindStringSubmatch(trace)
	if m == nil {
		t.Fatalf("no process creation with a child pid in the trace:\n%s", clip(r.stderr))
	}
	child := m[3] + m[5]
	if !regexp.MustCompile(`(?m)^\[pid +` + child + `\] `).MatchString(trace) {
		t.Errorf("no line of the child %s marked [pid %s]", child, child)
	}
	if !regexp.MustCompile(`wait4\(` + child + `, .*= ` + child).MatchString(trace) {
		t.Errorf("no wait4 reaping %s in the trace", child)
	}
}
