package vm

import (
	"fmt"
	"unsafe"
)

// XSAVESize is the buffer size GetXSAVE and SetXSAVE need: KVM_CAP_XSAVE2's
// answer when larger than struct kvm_xsave's 4096 bytes.
func (c *VCPU) XSAVESize() int { return c.xsaveLen }

// GetXSAVE reads the guest's XSAVE image (KVM_GET_XSAVE2, or KVM_GET_XSAVE
// when the image fits 4096 bytes) into buf, which must be XSAVESize long.
func (c *VCPU) GetXSAVE(buf []byte) error {
	if len(buf) < c.xsaveLen {
		return fmt.Errorf("GetXSAVE: buffer %d bytes, need %d", len(buf), c.xsaveLen)
	}
	req, name := c.getXSAVEIoctl()
	if _, err := ioctl(c.fd, req, unsafe.Pointer(&buf[0])); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// getXSAVEIoctl is the ioctl GetXSAVE uses, and its name for errors:
// KVM_GET_XSAVE2 where KVM has KVM_CAP_XSAVE2, else KVM_GET_XSAVE.
func (c *VCPU) getXSAVEIoctl() (uintptr, string) {
	if c.m.kvm.Caps.XSAVE2Size > 0 {
		return kvmGetXSAVE2, "KVM_GET_XSAVE2"
	}
	return kvmGetXSAVE, "KVM_GET_XSAVE"
}

// SetXSAVE loads an XSAVE image into the guest (KVM_SET_XSAVE).
func (c *VCPU) SetXSAVE(buf []byte) error {
	if len(buf) < c.xsaveLen {
		return fmt.Errorf("SetXSAVE: buffer %d bytes, need %d", len(buf), c.xsaveLen)
	}
	if _, err := ioctl(c.fd, kvmSetXSAVE, unsafe.Pointer(&buf[0])); err != nil {
		return fmt.Errorf("KVM_SET_XSAVE: %w", err)
	}
	return nil
}

// MSR is one model-specific register value.
type MSR struct {
	Index uint32
	Value uint64
}

type kvmMSREntry struct {
	Index    uint32
	Reserved uint32
	Data     uint64
}

type kvmMSRs struct {
	N       uint32
	_       uint32
	Entries [16]kvmMSREntry
}

// SetMSRs writes MSRs (KVM_SET_MSRS); at most 16 per call.
func (c *VCPU) SetMSRs(msrs ...MSR) error {
	var t kvmMSRs
	if len(msrs) > len(t.Entries) {
		return fmt.Errorf("SetMSRs: %d MSRs, at most %d", len(msrs), len(t.Entries))
	}
	t.N = uint32(len(msrs))
	for i, m := range msrs {
		t.Entries[i] = kvmMSREntry{Index: m.Index, Data: m.Value}
	}
	r, err := ioctl(c.fd, kvmSetMSRs, unsafe.Pointer(&t))
	if err != nil {
		return fmt.Errorf("KVM_SET_MSRS: %w", err)
	}
	if int(r) != len(msrs) {
		return fmt.Errorf("KVM_SET_MSRS: set %d of %d (MSR %#x refused)", r, len(msrs), msrs[r].Index)
	}
	return nil
}
