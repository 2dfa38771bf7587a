package vm

import (
	"fmt"

	"github.com/bobuhiro11/gokvm/kvm"
	"golang.org/x/sys/unix"
)

// Machine is one KVM VM: a flat guest-physical memory starting at 0, and
// its vCPUs.
type Machine struct {
	kvm   *KVM
	fd    int
	Mem   []byte // guest physical memory [0, len(Mem))
	vcpus []*VCPU
}

// NewMachine creates a VM with memSize bytes of guest memory (a multiple of
// 4 KiB). The memory is anonymous, private and lazily backed by the host.
func (k *KVM) NewMachine(memSize uint64) (*Machine, error) {
	if memSize == 0 || memSize%4096 != 0 {
		return nil, fmt.Errorf("guest memory size %d is not a positive multiple of 4 KiB", memSize)
	}
	var vmfd uintptr
	err := retry(func() (err error) { vmfd, err = kvm.CreateVM(uintptr(k.fd)); return err })
	if err != nil {
		return nil, fmt.Errorf("%w: KVM_CREATE_VM: %v", ErrNoKVM, err)
	}
	m := &Machine{kvm: k, fd: int(vmfd)}
	mem, err := unix.Mmap(-1, 0, int(memSize), unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("mmap %d bytes of guest memory: %w", memSize, err)
	}
	m.Mem = mem
	// Transparent huge pages would make each first touch of a 2 MiB
	// region allocate and zero 2 MiB on the host (measured: boot time
	// several times worse); guest memory is populated a chunk at a time
	// instead (guestkernel's page allocator).
	unix.Madvise(mem, unix.MADV_NOHUGEPAGE)
	region := kvm.UserspaceMemoryRegion{
		Slot:          0,
		GuestPhysAddr: 0,
		MemorySize:    memSize,
		UserspaceAddr: uint64(sliceAddr(mem)),
	}
	if err := retry(func() error { return kvm.SetUserMemoryRegion(vmfd, &region) }); err != nil {
		m.Close()
		return nil, fmt.Errorf("KVM_SET_USER_MEMORY_REGION (%d MiB): %w", memSize>>20, err)
	}
	return m, nil
}

// KVM returns the /dev/kvm handle the machine was made from.
func (m *Machine) KVM() *KVM { return m.kvm }

// Close releases the vCPUs, the VM and its memory.
func (m *Machine) Close() error {
	for _, c := range m.vcpus {
		c.close()
	}
	m.vcpus = nil
	if m.Mem != nil {
		unix.Munmap(m.Mem)
		m.Mem = nil
	}
	if m.fd >= 0 {
		unix.Close(m.fd)
		m.fd = -1
	}
	return nil
}

// InvalidateShadow makes KVM drop every shadow page-table page of the VM
// by deleting and re-adding its memory slot (KVM zaps all shadow pages
// when a slot goes away). It costs milliseconds; it is the fallback when
// more page tables changed than a guest-side shootdown covers.
func (m *Machine) InvalidateShadow() error {
	region := kvm.UserspaceMemoryRegion{Slot: 0, UserspaceAddr: uint64(sliceAddr(m.Mem))}
	if err := retry(func() error { return kvm.SetUserMemoryRegion(uintptr(m.fd), &region) }); err != nil {
		return fmt.Errorf("delete memory slot: %w", err)
	}
	region.MemorySize = uint64(len(m.Mem))
	if err := retry(func() error { return kvm.SetUserMemoryRegion(uintptr(m.fd), &region) }); err != nil {
		return fmt.Errorf("re-add memory slot: %w", err)
	}
	return nil
}
