package bench

import (
	"testing"

	"nsvm/images"
)

func TestProbeCounts(t *testing.T) {
	img, _ := images.Lookup("hello")
	for i := 0; i < 3; i++ {
		d, k := runGuest(t, img, "/images/hello", nil, false)
		t.Logf("hello: %v syscalls=%d exceptions=%d pagefaults=%d", d, k.Stats.Syscalls, k.Stats.Exceptions, k.Stats.PageFaults)
	}
}
