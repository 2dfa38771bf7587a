package vm

import (
	"fmt"
	"unsafe"
)

// CPUIDEntry is struct kvm_cpuid_entry2.
type CPUIDEntry struct {
	Function uint32
	Index    uint32
	Flags    uint32
	EAX      uint32
	EBX      uint32
	ECX      uint32
	EDX      uint32
	_        [3]uint32
}

// CPUIDFlagSignificantIndex is KVM_CPUID_FLAG_SIGNIFCANT_INDEX.
const CPUIDFlagSignificantIndex = 1

const maxCPUIDEntries = 256

type cpuid2 struct {
	Nent    uint32
	_       uint32
	Entries [maxCPUIDEntries]CPUIDEntry
}

// getSupportedCPUID is our own KVM_GET_SUPPORTED_CPUID: gokvm encodes the
// whole buffer size in the ioctl number, which KVM does not expect.
func getSupportedCPUID(kvmfd int) ([]CPUIDEntry, error) {
	var c cpuid2
	c.Nent = maxCPUIDEntries
	if _, err := ioctl(kvmfd, kvmGetSupportedCPUID, unsafe.Pointer(&c)); err != nil {
		return nil, err
	}
	return append([]CPUIDEntry(nil), c.Entries[:c.Nent]...), nil
}

// SetCPUID installs the guest's CPUID table (KVM_SET_CPUID2).
func (c *VCPU) SetCPUID(entries []CPUIDEntry) error {
	if len(entries) > maxCPUIDEntries {
		return fmt.Errorf("KVM_SET_CPUID2: %d entries, at most %d", len(entries), maxCPUIDEntries)
	}
	var t cpuid2
	t.Nent = uint32(len(entries))
	copy(t.Entries[:], entries)
	if _, err := ioctl(c.fd, kvmSetCPUID2, unsafe.Pointer(&t)); err != nil {
		return fmt.Errorf("KVM_SET_CPUID2: %w", err)
	}
	return nil
}
