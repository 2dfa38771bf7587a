package guestkernel

import (
	"bytes"
	"github.com/nsvm/nsvm/internal/kvmtest"
	"os"
	"path/filepath"
	"testing"
	"time"

	x86 "github.com/nsvm/nsvm/arch/x86_64"
	"github.com/nsvm/nsvm/internal/cbuild"
)

// These tests boot real micro-VMs. The guest programs are the
// differential tests' (cmd/nsvm/testdata); here the kernel model's
// internals are checked while they run.

func runGuestProgram(tb testing.TB, src string, args ...string) (Status, *Kernel) {
	tb.Helper()
	requireKVM(tb)
	bin := cbuild.Static(tb, filepath.Join("..", "cmd", "nsvm", "testdata", src))
	img, err := os.ReadFile(bin)
	if err != nil {
		tb.Fatal(err)
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer null.Close()
	var log bytes.Buffer
	cfg := Config{Image: img, Path: bin, ExePath: bin, Args: append([]string{bin}, args...),
		Stdin: int(null.Fd()), Stdout: int(null.Fd()), Stderr: int(null.Fd()), Log: &log}
	st, k, err := RunProgram(cfg, RunOptions{Timeout: 2 * time.Minute})
	if err != nil {
		tb.Fatalf("%s: %v\n%s", src, err, log.String())
	}
	return st, k
}

// TestForkXSAVEImage checks fork's FPU copy at the KVM level: the image
// the child gets equals the parent's live image (read from the vCPU with
// KVM_GET_XSAVE2) byte for byte, except the XSTATE_BV bits fpu_clone
// clears; and an image loaded into the vCPU with KVM_SET_XSAVE reads back
// unchanged.
func TestForkXSAVEImage(t *testing.T) {
	type pair struct{ a, b []byte }
	var forks, sets []pair
	xsaveAudit = func(ev string, a, b []byte) {
		p := pair{append([]byte(nil), a...), append([]byte(nil), b...)}
		if ev == "fork" {
			forks = append(forks, p)
		} else {
			sets = append(sets, p)
		}
	}
	defer func() { xsaveAudit = nil }()
	st, k := runGuestProgram(t, "fpu_inherit.c")
	if st.ShellCode() != 0 {
		t.Fatalf("fpu_inherit exited %d", st.ShellCode())
	}
	if len(forks) < 3 || len(sets) < 3 {
		t.Fatalf("saw %d forks and %d XSAVE loads, want at least 3 of each", len(forks), len(sets))
	}
	size := x86.LayoutFor(k.feat.XCR0).Size
	const bv = x86.XSAVEHeaderOffset
	for i, p := range forks {
		parent, child := p.a, p.b
		wantBV := x86.XSTATEBV(parent) &^ (x86.XFeaturePASID | x86.XFeatureTileData)
		if got := x86.XSTATEBV(child); got != wantBV {
			t.Errorf("fork %d: child XSTATE_BV %#x, want %#x", i, got, wantBV)
		}
		if !bytes.Equal(parent[:bv], child[:bv]) || !bytes.Equal(parent[bv+8:size], child[bv+8:size]) {
			t.Errorf("fork %d: child image differs from the parent's beyond XSTATE_BV", i)
		}
		if x86.XSTATEBV(parent)&x86.XFeatureAVX == 0 && k.feat.XCR0&x86.XFeatureAVX != 0 {
			t.Errorf("fork %d: parent image has no AVX state, the program loaded some", i)
		}
	}
	for i, p := range sets {
		if !bytes.Equal(p.a[:size], p.b[:size]) {
			t.Errorf("load %d: the vCPU reports a different image than was set", i)
		}
	}
}

// TestForkNoLeaks: after 1000 fork+exit+wait cycles and a 64-process
// tree, and after threads, signals and pipes, every object count of the
// model is back to zero.
func TestForkNoLeaks(t *testing.T) {
	// Namespaces too: every count matches its holders after every exit,
	// unshare and setns, and all are freed at the end.
	var midRun []error
	auditEveryExit = func(err error) {
		if err != nil && len(midRun) < 3 {
			midRun = append(midRun, err)
		}
	}
	defer func() { auditEveryExit = nil }()
	for _, tc := range []struct {
		src  string
		want int
	}{
		{"fork_loop.c", 0},
		{"fork_life.c", 0},
		{"threads.c", 5},
		{"kill_children.c", 0},
		{"vfork_mem.c", 0},
		{"ns_uts.c", 0},
		{"ns_pid.c", 0},
		{"ns_pid_nest.c", 0},
		{"ns_proc.c", 0},
		{"ns_user.c", 0},
		{"ns_errno.c", 0},
		{"ns_status.c", 0},
	} {
		st, k := runGuestProgram(t, tc.src)
		if st.ShellCode() != tc.want {
			t.Errorf("%s: exit %d, want %d", tc.src, st.ShellCode(), tc.want)
		}
		if o := k.Objects(); o != (Objects{}) {
			t.Errorf("%s: objects left after the last exit: %+v", tc.src, o)
		}
		if err := k.AuditNamespaces(); err != nil {
			t.Errorf("%s: %v", tc.src, err)
		}
		for _, err := range midRun {
			t.Errorf("%s, during the run: %v", tc.src, err)
		}
		midRun = nil
		if tc.src == "fork_loop.c" && k.Stats.Forks < 1063 {
			t.Errorf("fork_loop: %d forks, want >= 1063", k.Stats.Forks)
		}
	}
}

func requireKVM(tb testing.TB) { kvmtest.Require(tb) }
