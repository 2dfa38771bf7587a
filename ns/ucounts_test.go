package ns

import "testing"

// A ucounts entry lives while its uid has namespaces charged
// (put_ucounts): the uids a guest creates namespaces as do not pile up in
// the map once those namespaces are gone.
func TestUcountsFreed(t *testing.T) {
	w := newTestWorld()
	for uid := uint32(1000); uid < 1100; uid++ {
		p, err := w.CopyNamespaces(CloneNewUTS|CloneNewIPC, w.InitNsproxy, Creator{User: w.InitUser, EUID: uid, ActivePID: w.InitPID}, true, nil)
		if err != nil {
			t.Fatalf("uid %d: %v", uid, err)
		}
		if c := w.InitUser.counts[uid]; c == nil || c[UTS] != 1 || c[IPC] != 1 {
			t.Fatalf("uid %d: counts %v, want one UTS and one IPC namespace", uid, c)
		}
		w.PutProxy(p)
	}
	if n := len(w.InitUser.counts); n != 0 {
		t.Errorf("%d ucounts entries left after every namespace was freed", n)
	}
}

// Freeing an IPC namespace releases what the guest kernel keeps in it.
func TestIPCObjectsReleased(t *testing.T) {
	w := newTestWorld()
	p, err := w.CopyNamespaces(CloneNewIPC, w.InitNsproxy, root(w), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	obj := &releaser{}
	p.IPC.Objects = obj
	w.PutProxy(p)
	if obj.n != 1 {
		t.Errorf("Release called %d times, want 1", obj.n)
	}
}

type releaser struct{ n int }

func (r *releaser) Release() { r.n++ }
