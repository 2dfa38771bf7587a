package fault

import (
	"bytes"
	"strings"
	"testing"
)

func fixed(v uint64) func() uint64 { return func() uint64 { return v } }

// TestShouldFailOrder follows should_fail_ex (spec §4.3) case by case.
func TestShouldFailOrder(t *testing.T) {
	tests := []struct {
		name  string
		attr  Attr
		ts    *TaskState
		size  int64
		rnd   uint64
		want  bool
		after func(t *testing.T, a *Attr, ts *TaskState)
	}{
		{name: "probability 0 never fails", attr: Attr{Interval: 1, Times: -1}, want: false},
		{name: "probability 100 always fails", attr: Attr{Probability: 100, Interval: 1, Times: -1}, rnd: 99, want: true},
		{name: "probability 30 vs r=29 fails", attr: Attr{Probability: 30, Interval: 1, Times: -1}, rnd: 29, want: true},
		{name: "probability 30 vs r=30 passes", attr: Attr{Probability: 30, Interval: 1, Times: -1}, rnd: 30, want: false},
		{name: "times 0 stops injection", attr: Attr{Probability: 100, Interval: 1, Times: 0}, want: false},
		{name: "times counts down", attr: Attr{Probability: 100, Interval: 1, Times: 2}, want: true,
			after: func(t *testing.T, a *Attr, _ *TaskState) {
				if a.Times != 1 {
					t.Errorf("times %d, want 1", a.Times)
				}
			}},
		{name: "times -1 is unlimited", attr: Attr{Probability: 100, Interval: 1, Times: -1}, want: true,
			after: func(t *testing.T, a *Attr, _ *TaskState) {
				if a.Times != -1 {
					t.Errorf("times %d, want -1", a.Times)
				}
			}},
		{name: "space consumed first", attr: Attr{Probability: 100, Interval: 1, Times: -1, Space: 10}, size: 4, want: false,
			after: func(t *testing.T, a *Attr, _ *TaskState) {
				if a.Space != 6 {
					t.Errorf("space %d, want 6", a.Space)
				}
			}},
		{name: "space equal to size proceeds", attr: Attr{Probability: 100, Interval: 1, Times: -1, Space: 4}, size: 4, want: true},
		{name: "task filter without make-it-fail", attr: Attr{Probability: 100, Interval: 1, Times: -1, TaskFilter: true},
			ts: &TaskState{}, want: false},
		{name: "task filter with make-it-fail", attr: Attr{Probability: 100, Interval: 1, Times: -1, TaskFilter: true},
			ts: &TaskState{MakeItFail: true}, want: true},
		{name: "fail-nth counting down suppresses probability", attr: Attr{Probability: 100, Interval: 1, Times: -1},
			ts: &TaskState{FailNth: 3}, want: false,
			after: func(t *testing.T, _ *Attr, ts *TaskState) {
				if ts.FailNth != 2 {
					t.Errorf("fail-nth %d, want 2", ts.FailNth)
				}
			}},
		{name: "fail-nth hit ignores probability 0 and times 0... but consumes times", attr: Attr{Probability: 0, Interval: 1, Times: 5},
			ts: &TaskState{FailNth: 1}, want: true,
			after: func(t *testing.T, a *Attr, ts *TaskState) {
				if ts.FailNth != 0 || a.Times != 4 {
					t.Errorf("fail-nth %d times %d, want 0 and 4", ts.FailNth, a.Times)
				}
			}},
		{name: "fail-nth hit with times 0 still fails", attr: Attr{Interval: 1, Times: 0},
			ts: &TaskState{FailNth: 1}, want: true,
			after: func(t *testing.T, a *Attr, _ *TaskState) {
				if a.Times != 0 {
					t.Errorf("times %d, want 0", a.Times)
				}
			}},
	}
	for _, tc := range tests {
		a := tc.attr
		if got := a.ShouldFail(tc.ts, tc.size, fixed(tc.rnd), nil); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
		if tc.after != nil {
			tc.after(t, &a, tc.ts)
		}
	}
}

// TestInterval: only every interval-th call that passed the earlier
// filters may fail, and calls filtered earlier do not advance the count.
func TestInterval(t *testing.T) {
	a := Attr{Probability: 100, Interval: 3, Times: -1}
	var got []bool
	for i := 0; i < 7; i++ {
		got = append(got, a.ShouldFail(nil, 0, fixed(0), nil))
	}
	want := []bool{false, false, true, false, false, true, false}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("interval 3: %v, want %v", got, want)
		}
	}
	b := Attr{Probability: 100, Interval: 2, Times: -1, Space: 2}
	b.ShouldFail(nil, 1, fixed(0), nil) // space 2 > 1: consumed, count untouched
	if b.count != 0 {
		t.Errorf("a call stopped by space advanced the interval count")
	}
}

// TestProbabilityRate: with a real random source the failure rate is
// near the probability, and the same seed gives the same decisions.
func TestProbabilityRate(t *testing.T) {
	run := func(seed uint64) []bool {
		in := NewInjector(seed)
		in.Attrs[Failslab].Probability = 25
		in.Attrs[Failslab].Times = -1
		var d []bool
		for i := 0; i < 4000; i++ {
			d = append(d, in.ShouldFail(2, &TaskState{}, "copy_files"))
		}
		return d
	}
	a, b := run(7), run(7)
	n := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("the same seed gave different decisions")
		}
		if a[i] {
			n++
		}
	}
	if n < 800 || n > 1200 {
		t.Errorf("%d failures in 4000 at 25%%", n)
	}
}

func TestInjectorSiteFilterAndLog(t *testing.T) {
	var log bytes.Buffer
	in := NewInjector(1)
	in.Log = &log
	in.Site = "copy_mm"
	ts := &TaskState{FailNth: 1}
	if in.ShouldFail(2, ts, "copy_files") {
		t.Fatal("a filtered site failed")
	}
	if ts.FailNth != 1 {
		t.Fatal("a filtered site counted toward fail-nth")
	}
	if !in.ShouldFail(2, ts, "copy_mm") {
		t.Fatal("fail-nth 1 at the selected site did not fail")
	}
	if len(in.Injected) != 1 || in.Injected[0].Site != "copy_mm" || in.Injected[0].Cap != Failslab {
		t.Errorf("injections %+v", in.Injected)
	}
	if !strings.Contains(log.String(), "FAULT_INJECTION: forcing a failure.") {
		t.Errorf("no log line: %q", log.String())
	}
	if CapabilityOf("alloc_page") != PageAlloc || CapabilityOf("usercopy_to") != Usercopy || CapabilityOf("kvm_get_xsave") != VMM {
		t.Error("capability mapping")
	}
}
