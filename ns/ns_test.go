package ns

import (
	"errors"
	"testing"
)

func newTestWorld() *World {
	return NewWorld(HostNames{Sysname: "Linux", Nodename: "host", Machine: "x86_64"}, 100)
}

func root(w *World) Creator {
	return Creator{User: w.InitUser, EUID: 0, ActivePID: w.InitPID}
}

func TestInitNamespaces(t *testing.T) {
	w := newTestWorld()
	p := w.InitNsproxy
	for _, tc := range []struct {
		n    Namespace
		link string
	}{
		{p.UTS, "uts:[4026531838]"}, {p.IPC, "ipc:[4026531839]"}, {w.InitUser, "user:[4026531837]"},
		{p.PIDForChildren, "pid:[4026531836]"}, {p.Cgroup, "cgroup:[4026531835]"}, {p.Time, "time:[4026531834]"},
	} {
		if got := Link(tc.n); got != tc.link {
			t.Errorf("Link = %q, want %q", got, tc.link)
		}
	}
	if p.Net.Inum != 0xF0000001 || p.Mnt.Inum != 0xF0000002 {
		t.Errorf("dynamic inums net %d mnt %d", p.Net.Inum, p.Mnt.Inum)
	}
}

func TestCopyNamespacesShareAndCreate(t *testing.T) {
	w := newTestWorld()
	old := w.InitNsproxy
	p, err := w.CopyNamespaces(0, old, root(w), true, nil)
	if err != nil || p != old || old.Refs != 2 {
		t.Fatalf("no flags: got %p refs %d err %v, want the same proxy with 2 refs", p, old.Refs, err)
	}
	w.PutProxy(p)
	before := len(w.Live)
	n, err := w.CopyNamespaces(CloneNewUTS|CloneNewPID, old, root(w), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n == old || n.UTS == old.UTS || n.PIDForChildren == old.PIDForChildren || n.IPC != old.IPC {
		t.Fatal("CLONE_NEWUTS|CLONE_NEWPID must give new uts and pid, the same ipc")
	}
	if n.UTS.Nodename != "host" || n.PIDForChildren.Level != 1 || n.PIDForChildren.Parent != old.PIDForChildren {
		t.Errorf("new uts %q level %d", n.UTS.Nodename, n.PIDForChildren.Level)
	}
	if len(w.Live) != before+2 {
		t.Errorf("live namespaces %d, want %d", len(w.Live), before+2)
	}
	w.PutProxy(n)
	if len(w.Live) != before || old.IPC.Refs != 1 || old.UTS.Refs != 1 {
		t.Errorf("after put: live %d (want %d), ipc refs %d, uts refs %d", len(w.Live), before, old.IPC.Refs, old.UTS.Refs)
	}
}

func TestCopyNamespacesChecks(t *testing.T) {
	w := newTestWorld()
	if _, err := w.CopyNamespaces(CloneNewUTS, w.InitNsproxy, root(w), false, nil); !errors.Is(err, ErrPerm) {
		t.Errorf("without CAP_SYS_ADMIN: %v, want EPERM", err)
	}
	// EPERM comes before the NEWIPC|SYSVSEM EINVAL.
	if _, err := w.CopyNamespaces(CloneNewIPC|cloneSysVSem, w.InitNsproxy, root(w), false, nil); !errors.Is(err, ErrPerm) {
		t.Errorf("NEWIPC|SYSVSEM unprivileged: %v, want EPERM", err)
	}
	if _, err := w.CopyNamespaces(CloneNewIPC|cloneSysVSem, w.InitNsproxy, root(w), true, nil); !errors.Is(err, ErrInval) {
		t.Errorf("NEWIPC|SYSVSEM as root: %v, want EINVAL", err)
	}
	// pid: only from the namespace one is in.
	cr := root(w)
	cr.ActivePID = &PIDNS{}
	if _, err := w.CopyNamespaces(CloneNewPID, w.InitNsproxy, cr, true, nil); !errors.Is(err, ErrInval) {
		t.Errorf("NEWPID from another active ns: %v, want EINVAL", err)
	}
}

func TestPIDNesting(t *testing.T) {
	w := newTestWorld()
	p := w.InitNsproxy
	p.Refs++
	for level := 1; level <= MaxPIDNSLevel; level++ {
		cr := Creator{User: w.InitUser, ActivePID: p.PIDForChildren}
		n, err := w.CopyNamespaces(CloneNewPID, p, cr, true, nil)
		if err != nil {
			t.Fatalf("level %d: %v", level, err)
		}
		w.PutProxy(p)
		p = n
	}
	cr := Creator{User: w.InitUser, ActivePID: p.PIDForChildren}
	if _, err := w.CopyNamespaces(CloneNewPID, p, cr, true, nil); !errors.Is(err, ErrNoSpace) {
		t.Errorf("level 33: %v, want ENOSPC", err)
	}
}

// TestCreateUnwind fails each allocation of create_new_namespaces in
// turn: every failure must leave all refcounts and charges as before.
func TestCreateUnwind(t *testing.T) {
	sites := []string{"create_nsproxy", "copy_mnt_ns", "copy_utsname", "copy_ipcs", "copy_pid_ns", "copy_cgroup_ns", "copy_net_ns", "copy_time_ns"}
	for _, site := range sites {
		w := newTestWorld()
		refs := map[Namespace]int{}
		for _, n := range w.Live {
			refs[n] = n.Base().Refs
		}
		live := len(w.Live)
		_, err := w.CreateNewNamespaces(AllNS, w.InitNsproxy, root(w), func(s string) bool { return s == site })
		if !errors.Is(err, ErrNoMem) {
			t.Errorf("%s: %v, want ENOMEM", site, err)
		}
		if len(w.Live) != live {
			t.Errorf("%s: %d namespaces leaked", site, len(w.Live)-live)
		}
		for n, r := range refs {
			if n.Base().Refs != r {
				t.Errorf("%s: %s refs %d, want %d", site, Link(n), n.Base().Refs, r)
			}
		}
		if c := w.InitUser.counts[0]; c != nil {
			for k, v := range c {
				if v != 0 {
					t.Errorf("%s: %s still charged %d", site, Kind(k), v)
				}
			}
		}
	}
}

func TestLimits(t *testing.T) {
	w := newTestWorld()
	w.InitUser.SetLimit(UTS, 0)
	if _, err := w.CopyNamespaces(CloneNewUTS, w.InitNsproxy, root(w), true, nil); !errors.Is(err, ErrNoSpace) {
		t.Errorf("max_uts_namespaces=0: %v, want ENOSPC", err)
	}
	w.InitUser.SetLimit(UTS, 1)
	p, err := w.CopyNamespaces(CloneNewUTS, w.InitNsproxy, root(w), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A child user namespace's own limit is unbounded, but the parent's
	// still applies, to the uid that owns the child (ucounts are per
	// user namespace and uid).
	u, err := w.NewUserNS(w.InitUser, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.CopyNamespaces(CloneNewUTS, w.InitNsproxy, Creator{User: u, EUID: 0, ActivePID: w.InitPID}, true, nil); !errors.Is(err, ErrNoSpace) {
		t.Errorf("over the ancestor's limit: %v, want ENOSPC", err)
	}
	w.PutProxy(p)
	if _, err := w.CopyNamespaces(CloneNewUTS, w.InitNsproxy, Creator{User: u, EUID: 0, ActivePID: w.InitPID}, true, nil); err != nil {
		t.Errorf("after freeing: %v", err)
	}
}

func TestUserNSMaps(t *testing.T) {
	w := newTestWorld()
	u, _ := w.NewUserNS(w.InitUser, 1000, 1000, nil)
	if got := u.FromKUID(1000); got != OverflowID {
		t.Errorf("unmapped uid reads %d, want %d", got, OverflowID)
	}
	u.UIDMap = []IDMap{{Inside: 0, Outside: 1000, Count: 1}}
	if got := u.FromKUID(1000); got != 0 {
		t.Errorf("mapped uid reads %d, want 0", got)
	}
	if k, ok := u.KUID(0); !ok || k != 1000 {
		t.Errorf("KUID(0) = %d, %v", k, ok)
	}
	if !w.InitUser.IsAncestorOf(u) || u.IsAncestorOf(w.InitUser) {
		t.Error("ancestry")
	}
}
