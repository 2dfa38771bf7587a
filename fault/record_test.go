package fault

import "testing"

// The record of injections is bounded: a long run that injects at every
// site keeps the first MaxRecorded and counts the rest.
func TestInjectedBounded(t *testing.T) {
	in := NewInjector(3)
	in.Attrs[Failslab].Probability = 100
	in.Attrs[Failslab].Times = -1
	in.Attrs[Failslab].Verbose = 0
	const calls = 3 * MaxRecorded
	for i := 0; i < calls; i++ {
		if !in.ShouldFail(2, &TaskState{}, "copy_files") {
			t.Fatalf("call %d did not fail at probability 100", i)
		}
	}
	if len(in.Injected) != MaxRecorded || in.Dropped != calls-MaxRecorded {
		t.Errorf("%d recorded and %d dropped of %d injections, want %d and %d", len(in.Injected), in.Dropped, calls, MaxRecorded, calls-MaxRecorded)
	}
	if in.Injected[0].Site != "copy_files" {
		t.Errorf("first injection %+v", in.Injected[0])
	}
}
