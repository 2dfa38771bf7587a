package guestkernel

import (
	"fmt"
	"sort"
	"strings"

	"github.com/nsvm/nsvm/ns"
)

// AuditNamespaces is the namespace refcount audit: every nsproxy's count
// must equal the number of tasks holding it, every cred's the number of
// tasks holding it (zombies included: they keep their creds until they
// are reaped), and every namespace's count
// the number of its holders (nsproxies, credentials, open nsfs files,
// child namespaces, and the initial ones' static reference); a namespace
// nothing holds must be gone. It returns every discrepancy, or nil.
func (k *Kernel) AuditNamespaces() error {
	w := k.nsw
	holders := map[ns.Namespace]int{}
	proxies := map[*ns.Nsproxy]int{}
	holdProxy := func(p *ns.Nsproxy) {
		if p == nil {
			return
		}
		proxies[p]++
		if proxies[p] > 1 {
			return // its members are counted once per proxy
		}
	}
	// Tasks hold nsproxies (live ones; zombies dropped theirs) and
	// credentials (zombies too, until release_task).
	creds := map[*cred]int{}
	for _, t := range append(k.sortedTasks(), k.init) {
		if t.alive() || t == k.init {
			holdProxy(t.nsproxy)
		}
		if t.cred != nil {
			creds[t.cred]++
		}
	}
	for p := range proxies {
		for _, n := range []ns.Namespace{p.Mnt, p.UTS, p.IPC, p.PIDForChildren, p.Cgroup, p.Net, p.Time, p.TimeForChildren} {
			holders[n]++
		}
	}
	for c := range creds {
		if c.userNS != w.InitUser {
			holders[c.userNS]++
		}
	}
	// Open nsfs files hold their namespace.
	tables := map[*fdTable]bool{}
	for _, t := range k.tasks {
		if t.files != nil {
			tables[t.files] = true
		}
	}
	files := map[*file]bool{}
	for tb := range tables {
		for _, e := range tb.fds {
			if e.f != nil && e.f.kind == fileNS {
				files[e.f] = true
			}
		}
	}
	for f := range files {
		holders[f.nsf.ns]++
	}
	// Child namespaces hold their parent (pid, user); the initial ones
	// hold themselves.
	for _, n := range w.Live {
		switch n := n.(type) {
		case *ns.PIDNS:
			if n.Parent != nil {
				holders[n.Parent]++
			}
		case *ns.UserNS:
			if n.Parent != nil {
				holders[n.Parent]++
			}
		}
	}
	holders[w.InitUser]++
	var bad []string
	for c, n := range creds {
		if c.refs != n {
			bad = append(bad, fmt.Sprintf("cred %p (uid %d): count %d, held by %d tasks", c, c.uid, c.refs, n))
		}
	}
	for p, n := range proxies {
		if p.Refs != n {
			bad = append(bad, fmt.Sprintf("nsproxy %p: count %d, held by %d tasks", p, p.Refs, n))
		}
	}
	if len(proxies) != w.Proxies {
		bad = append(bad, fmt.Sprintf("%d nsproxies alive, %d held", w.Proxies, len(proxies)))
	}
	live := map[ns.Namespace]bool{}
	for _, n := range w.Live {
		live[n] = true
		if got, want := n.Base().Refs, holders[n]; got != want {
			bad = append(bad, fmt.Sprintf("%s: count %d, %d holders", ns.Link(n), got, want))
		}
	}
	for n := range holders {
		if !live[n] {
			bad = append(bad, fmt.Sprintf("%s: held but freed", ns.Link(n)))
		}
	}
	if bad == nil {
		return nil
	}
	sort.Strings(bad)
	return fmt.Errorf("namespace audit:\n  %s", strings.Join(bad, "\n  "))
}

// auditEveryExit, when set (tests), runs the namespace audit after every
// task exit and unshare/setns, mid-run, and hands it the result.
var auditEveryExit func(err error)

func (k *Kernel) auditPoint() {
	if auditEveryExit != nil {
		auditEveryExit(k.AuditNamespaces())
	}
}

// NamespacePicture snapshots the namespaces and the live tasks using them
// (for `nsvm ns`).
func (k *Kernel) NamespacePicture() *ns.Picture {
	p := k.nsw.Snapshot()
	for _, t := range append([]*Task{k.init}, k.sortedTasks()...) {
		if t.alive() && t.nsproxy != nil {
			p.AddTask(t.tid, t.comm, t.nsproxy, t.activePIDNS(), t.cred.userNS)
		}
	}
	return p
}
