package guestkernel

import (
	"testing"

	"github.com/bobuhiro11/gokvm/kvm"
	"golang.org/x/sys/unix"

	"github.com/nsvm/nsvm/ns"
)

// fakeCPU is a vCPU for tests that drive the model without KVM: a
// register file and an XSAVE image kept in memory.
type fakeCPU struct {
	regs  kvm.Regs
	sregs kvm.Sregs
	xsave []byte
}

func newFakeCPU() *fakeCPU { return &fakeCPU{xsave: make([]byte, 4096)} }

func (c *fakeCPU) Registers() (*kvm.Regs, *kvm.Sregs) { return &c.regs, &c.sregs }
func (c *fakeCPU) MarkDirty(uint64)                   {}
func (c *fakeCPU) XSAVESize() int                     { return len(c.xsave) }
func (c *fakeCPU) GetXSAVE(b []byte) error            { copy(b, c.xsave); return nil }
func (c *fakeCPU) SetXSAVE(b []byte) error            { copy(c.xsave, b); return nil }

// TestZombieKeepsCredsUntilReaped: a child in a new user namespace exits;
// as a zombie it still holds its credentials, and through them its user
// namespace, as on Linux (the creds go with the task_struct, at reap).
// wait4 reaps it, and then both are gone. The namespace audit agrees at
// every step.
func TestZombieKeepsCredsUntilReaped(t *testing.T) {
	e := newTestEnv(t)
	k := e.k
	k.cpu = newFakeCPU()
	k.maxThreads = 100
	audit := func(when string) {
		t.Helper()
		if err := k.AuditNamespaces(); err != nil {
			t.Errorf("%s: %v", when, err)
		}
	}
	live0, ns0 := k.Stats.LiveCreds, len(k.nsw.Live)
	pid := k.kernelClone(e.t, &cloneArgs{flags: cloneNewUser, exitSignal: int(unix.SIGCHLD)})
	if pid <= 0 {
		t.Fatalf("clone(CLONE_NEWUSER) = %d", pid)
	}
	child := k.tasks[int(pid)]
	if child == nil {
		t.Fatalf("no task %d after clone", pid)
	}
	cr, userNS := child.cred, child.cred.userNS
	if cr == e.t.cred || userNS == k.nsw.InitUser {
		t.Fatalf("the child shares its parent's creds or user namespace")
	}
	if k.Stats.LiveCreds != live0+1 || len(k.nsw.Live) != ns0+1 {
		t.Fatalf("after clone: %d creds, %d namespaces; want %d, %d", k.Stats.LiveCreds, len(k.nsw.Live), live0+1, ns0+1)
	}
	audit("after clone")

	k.dequeue(child) // it never runs: it exits at once
	k.doExit(child, exitedStatus(3))
	if child.state != taskZombie {
		t.Fatalf("child state %s after exit, want zombie", stateName(child.state))
	}
	if child.cred != cr || cr.refs != 1 {
		t.Errorf("zombie: cred %p with %d refs, want its own %p with 1", child.cred, cr.refs, cr)
	}
	if k.Stats.LiveCreds != live0+1 {
		t.Errorf("zombie: %d live creds, want %d (the zombie's kept)", k.Stats.LiveCreds, live0+1)
	}
	if userNS.Refs != 1 || !nsLive(k, userNS) {
		t.Errorf("zombie: its user namespace has %d refs (live %v), want 1 (its creds')", userNS.Refs, nsLive(k, userNS))
	}
	audit("zombie")

	if r := sysWait4(e.t, &args{uint64(pid), 0, 0, 0}); r != pid {
		t.Fatalf("wait4 = %d, want %d", r, pid)
	}
	if child.state != taskDead {
		t.Fatalf("child state %s after wait4, want dead", stateName(child.state))
	}
	if cr.refs != 0 || k.Stats.LiveCreds != live0 {
		t.Errorf("reaped: cred has %d refs, %d live creds; want 0, %d", cr.refs, k.Stats.LiveCreds, live0)
	}
	if userNS.Refs != 0 || nsLive(k, userNS) || len(k.nsw.Live) != ns0 {
		t.Errorf("reaped: user namespace %d refs (live %v), %d namespaces; want 0, freed, %d", userNS.Refs, nsLive(k, userNS), len(k.nsw.Live), ns0)
	}
	audit("reaped")
}

func nsLive(k *Kernel, n ns.Namespace) bool {
	for _, l := range k.nsw.Live {
		if l == n {
			return true
		}
	}
	return false
}
