package guestkernel

import (
	"time"

	"github.com/nsvm/nsvm/vm"
)

// RunOptions are the machine-level settings of one run.
type RunOptions struct {
	Mem     uint64        // guest memory in bytes
	Timeout time.Duration // 0: no limit
	// Started, if set, is called with the kernel just before the guest
	// first runs (the CLI hooks SIGQUIT to it).
	Started func(*Kernel)
	// PinCPU pins the vCPU thread to a host CPU (-1 or unset: no pin).
	PinCPU *int
}

// DefaultMem is the guest memory size when none is given.
const DefaultMem = 256 << 20

// RunProgram boots a fresh micro-VM for cfg, runs the program to its end
// and tears the VM down: open /dev/kvm, create the machine and its vCPU,
// load the program, run. Errors: vm.ErrNoKVM (wrapped) when KVM is not
// usable, a *loader.Error for a bad executable, ErrTimeout, or a
// *vm.ExitError for a VM failure.
func RunProgram(cfg Config, opt RunOptions) (Status, *Kernel, error) {
	if opt.Mem == 0 {
		opt.Mem = DefaultMem
	}
	kv, err := vm.Open()
	if err != nil {
		return Status{}, nil, err
	}
	defer kv.Close()
	m, err := kv.NewMachine(opt.Mem)
	if err != nil {
		return Status{}, nil, err
	}
	defer m.Close()
	c, err := m.NewVCPU(0)
	if err != nil {
		return Status{}, nil, err
	}
	if opt.PinCPU != nil {
		c.PinCPU = *opt.PinCPU
	}
	k, err := New(m, c, cfg)
	if err != nil {
		return Status{}, nil, err
	}
	if opt.Started != nil {
		opt.Started(k)
	}
	st, err := k.Run(c, opt.Timeout)
	return st, k, err
}
