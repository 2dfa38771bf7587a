// Package fault is nsvm's fault-injection framework, a model of Linux's
// CONFIG_FAULT_INJECTION (lib/fault-inject.c): per-capability fault_attr
// objects with probability, interval, times, space, verbose and the task
// filter, the per-task fail-nth countdown and make-it-fail flag, and
// should_fail_ex in Linux's exact order (spec §4.3), including the rule
// that a fail-nth hit consumes one of the capability's `times`.
//
// The guest kernel evaluates a named site at every allocation it models
// (copy_process's steps, namespaces, pages, page tables, user copies);
// the Injector maps each site to its capability, applies the site filter
// (a filtered site does not count toward fail-nth, as Linux's
// capability-specific filters), and records every injection.
package fault

import (
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
)

// Capability is a fault-injection capability (one fault_attr each).
type Capability int

// The capabilities nsvm models.
const (
	Failslab  Capability = iota // kernel-object allocation (failslab)
	PageAlloc                   // guest page and page-table allocation (fail_page_alloc)
	Usercopy                    // access to guest memory (fail_usercopy)
	VMM                         // KVM ioctls the kernel model depends on (nsvm's own)
	NumCapabilities
)

var capNames = [...]string{"failslab", "fail_page_alloc", "fail_usercopy", "fail_vmm"}

func (c Capability) String() string { return capNames[c] }

// Attr is struct fault_attr.
type Attr struct {
	Name        string
	Probability uint64 // percent; 0 disables probabilistic injection
	Interval    uint64 // only every Interval-th eligible call may fail
	Times       int64  // remaining injections; -1 unlimited
	Space       int64  // size budget consumed before injection starts
	Verbose     int    // 0 silent, 1 a line per injection
	TaskFilter  bool   // only tasks with make-it-fail

	count uint64
}

// NewAttr returns an attr with FAULT_ATTR_INITIALIZER's defaults.
func NewAttr(name string) *Attr {
	return &Attr{Name: name, Interval: 1, Times: 1, Verbose: 2}
}

// TaskState is what a task carries for fault injection: its fail-nth
// countdown (0: disarmed; a new task starts at 0) and make-it-fail flag
// (inherited by fork).
type TaskState struct {
	FailNth    uint32
	MakeItFail bool
}

// ShouldFail is should_fail_ex(attr, size, 0) for the task ts (nil: not
// in task context), with rnd giving uniform integers in [0, 100).
func (a *Attr) ShouldFail(ts *TaskState, size int64, rnd func() uint64, log io.Writer) bool {
	// 1. fail-nth overrides every knob below: counting down never
	// injects probabilistically; reaching zero always injects.
	if ts != nil && ts.FailNth != 0 {
		ts.FailNth--
		if ts.FailNth == 0 {
			return a.fail(size, log)
		}
		return false
	}
	// 2-8.
	if a.Probability == 0 {
		return false
	}
	if a.TaskFilter && (ts == nil || !ts.MakeItFail) {
		return false
	}
	if a.Times == 0 {
		return false
	}
	if a.Space > size {
		a.Space -= size
		return false
	}
	if a.Interval > 1 {
		a.count++
		if a.count%a.Interval != 0 {
			return false
		}
	}
	if a.Probability <= rnd() {
		return false
	}
	return a.fail(size, log)
}

// fail is the FAIL label: the log line, then `times` is consumed (on the
// fail-nth path too).
func (a *Attr) fail(size int64, log io.Writer) bool {
	if a.Verbose > 0 && log != nil {
		fmt.Fprintf(log, "FAULT_INJECTION: forcing a failure.\nname %s, interval %d, probability %d, space %d, times %d\n",
			a.Name, a.Interval, a.Probability, a.Space, a.Times)
	}
	if a.Times != -1 && a.Times > 0 {
		a.Times--
	}
	return true
}

// Injection records one injected failure.
type Injection struct {
	TID  int
	Site string
	Cap  Capability
}

// MaxRecorded is how many injections an Injector keeps in Injected.
const MaxRecorded = 4096

// Injector holds the capabilities' attributes and decides at each site.
type Injector struct {
	Attrs [NumCapabilities]*Attr
	// Site, if set, restricts injection to that site: other sites are
	// filtered out before should_fail and do not count.
	Site string
	// Log receives the FAULT_INJECTION lines (verbose > 0).
	Log io.Writer
	// Injected lists the failures injected so far, the first
	// MaxRecorded of them: a long run with probabilistic injection
	// would otherwise grow it without end. Dropped counts the rest.
	Injected []Injection
	Dropped  int
	// Evaluated counts site evaluations (the sweep's progress).
	Evaluated int

	rng *rand.Rand
}

// NewInjector makes an injector with default attributes (probability 0:
// only fail-nth injects) and a random source seeded with seed.
func NewInjector(seed uint64) *Injector {
	in := &Injector{rng: rand.New(rand.NewPCG(seed, seed^0x6e73766d))}
	for c := range in.Attrs {
		in.Attrs[c] = NewAttr(Capability(c).String())
	}
	return in
}

// CapabilityOf maps a site name to its capability.
func CapabilityOf(site string) Capability {
	switch {
	case site == "alloc_page" || site == "pte_alloc":
		return PageAlloc
	case strings.HasPrefix(site, "usercopy"):
		return Usercopy
	case strings.HasPrefix(site, "kvm_"):
		return VMM
	}
	return Failslab
}

// ShouldFail evaluates site for a task (its state, its id for the
// record).
func (in *Injector) ShouldFail(tid int, ts *TaskState, site string) bool {
	if in.Site != "" && site != in.Site {
		return false
	}
	in.Evaluated++
	c := CapabilityOf(site)
	if in.Attrs[c].ShouldFail(ts, 1, func() uint64 { return in.rng.Uint64N(100) }, in.Log) {
		if len(in.Injected) < MaxRecorded {
			in.Injected = append(in.Injected, Injection{TID: tid, Site: site, Cap: c})
		} else {
			in.Dropped++
		}
		return true
	}
	return false
}

// Sites lists the sites of process creation in copy_process order, with
// the step each models (for sweep reports).
var Sites = []struct{ Name, Step string }{
	{"dup_task_struct", "S1 dup_task_struct"},
	{"arch_dup_task_struct", "S1 arch_dup_task_struct (FPU buffer)"},
	{"kvm_get_xsave", "S1 fpu_clone (KVM_GET_XSAVE2)"},
	{"copy_creds", "S3 copy_creds"},
	{"create_user_ns", "S3 copy_creds: create_user_ns"},
	{"copy_files", "S14 copy_files"},
	{"copy_fs", "S15 copy_fs"},
	{"copy_sighand", "S16 copy_sighand"},
	{"copy_signal", "S17 copy_signal"},
	{"copy_mm", "S18 copy_mm: dup_mm"},
	{"pte_alloc", "S18 copy_mm: page tables"},
	{"alloc_page", "S18 copy_mm: page copy"},
	{"copy_namespaces", "S19 copy_namespaces"},
	{"create_nsproxy", "S19 create_new_namespaces: nsproxy"},
	{"copy_mnt_ns", "S19 copy_mnt_ns"},
	{"copy_utsname", "S19 copy_utsname"},
	{"copy_ipcs", "S19 copy_ipcs"},
	{"copy_pid_ns", "S19 copy_pid_ns"},
	{"copy_cgroup_ns", "S19 copy_cgroup_ns"},
	{"copy_net_ns", "S19 copy_net_ns"},
	{"copy_time_ns", "S19 copy_time_ns"},
	{"copy_thread", "S21 copy_thread"},
	{"alloc_pid", "S22 alloc_pid"},
	{"pidfd", "S23 pidfd"},
}

// StepOf returns the copy_process step a site models ("" if unknown).
func StepOf(site string) string {
	for _, s := range Sites {
		if s.Name == site {
			return s.Step
		}
	}
	return ""
}
