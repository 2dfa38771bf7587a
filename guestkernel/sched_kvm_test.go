package guestkernel

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nsvm/nsvm/internal/cbuild"
)

// runTick runs testdata/tick.c in one mode and checks that it finished.
// A tick that does not come when needed makes it spin until the timeout.
func runTick(t *testing.T, mode string) *Kernel {
	t.Helper()
	k, _ := runTickLog(t, mode, nil)
	return k
}

// runTickLog is runTick with a Started hook; it also returns the kernel's
// log.
func runTickLog(t *testing.T, mode string, started func(*Kernel)) (*Kernel, string) {
	t.Helper()
	requireKVM(t)
	bin := cbuild.Static(t, filepath.Join("testdata", "tick.c"))
	img, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	var log bytes.Buffer
	cfg := Config{Image: img, Path: bin, ExePath: bin, Args: []string{bin, mode},
		Stdin: int(out.Fd()), Stdout: int(out.Fd()), Stderr: int(out.Fd()), Log: &log}
	st, k, err := RunProgram(cfg, RunOptions{Timeout: time.Minute, Started: started})
	if err != nil {
		t.Fatalf("tick %s: %v\n%s", mode, err, log.String())
	}
	b, _ := os.ReadFile(out.Name())
	if st.ShellCode() != 0 || !strings.Contains(string(b), "done\n") {
		t.Fatalf("tick %s: exit %d, output %q", mode, st.ShellCode(), b)
	}
	return k, log.String()
}

// TestNoTickForLoneTask: a single task with no timeout runs 200 ms (20
// tick periods) without one tick exit.
func TestNoTickForLoneTask(t *testing.T) {
	k := runTick(t, "alone")
	if c := k.VCPUExits(); c.Ticks != 0 || k.Stats.Preemptions != 0 {
		t.Errorf("lone task: %d tick exits, %d preemptions; want none (exits: %+v)", c.Ticks, k.Stats.Preemptions, c)
	}
}

// TestTickWhenNeeded: the tick comes when a second task becomes runnable
// (the parent spins until the child has run) and when a sleeper's timeout
// must expire while another task spins.
func TestTickWhenNeeded(t *testing.T) {
	k := runTick(t, "fork")
	if c := k.VCPUExits(); c.Ticks == 0 || k.Stats.Preemptions == 0 {
		t.Errorf("fork: %d tick exits, %d preemptions; want some of each", c.Ticks, k.Stats.Preemptions)
	}
	k = runTick(t, "sleep")
	if c := k.VCPUExits(); c.Ticks == 0 {
		t.Errorf("sleep: no tick exits")
	}
}

// TestDumpWithoutTick: a SIGQUIT dump request (RequestDump) reaches a lone
// task's run, which has no tick to carry it: it interrupts the vCPU
// itself, once.
func TestDumpWithoutTick(t *testing.T) {
	k, log := runTickLog(t, "alone", func(k *Kernel) { k.RequestDump() })
	if !strings.Contains(log, "nsvm: tasks (SIGQUIT)") {
		t.Errorf("no task table in the log:\n%s", log)
	}
	if c := k.VCPUExits(); c.Ticks != 1 {
		t.Errorf("%d interrupts, want 1 (the dump request's)", c.Ticks)
	}
}
