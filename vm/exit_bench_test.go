package vm

import (
	"testing"

	"github.com/nsvm/nsvm/internal/kvmtest"
)

type countHandler struct {
	n, stopAt int
}

func (h *countHandler) HandleIO(c *VCPU, io IOExit) (bool, error) {
	h.n++
	return h.n >= h.stopAt, nil
}

// realModeLoop makes a machine whose vCPU spins on `out %al,$0x10; jmp`
// at CPL0 in real mode: the raw exit round trip, with no paging and no
// guest kernel.
func realModeLoop(tb testing.TB) *VCPU {
	kvmtest.Require(tb)
	k, err := Open()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { k.Close() })
	m, err := k.NewMachine(1 << 20)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	copy(m.Mem[0x1000:], []byte{0xe6, 0x10, 0xeb, 0xfc})
	c, err := m.NewVCPU(0)
	if err != nil {
		tb.Fatal(err)
	}
	s := *c.Sregs
	if err := getSregs(c, &s); err != nil {
		tb.Fatal(err)
	}
	s.CS.Base, s.CS.Selector = 0, 0
	if err := c.SetSregs(&s); err != nil {
		tb.Fatal(err)
	}
	r := *c.Regs
	r.RIP, r.RFLAGS = 0x1000, 2
	if err := c.SetRegs(&r); err != nil {
		tb.Fatal(err)
	}
	return c
}

func BenchmarkExitRoundTrip(b *testing.B) {
	c := realModeLoop(b)
	h := &countHandler{stopAt: b.N}
	b.ResetTimer()
	if err := c.Run(h); err != nil {
		b.Fatal(err)
	}
}

func (h *countHandler) HandleInterrupt(c *VCPU) (bool, error) { return false, nil }
