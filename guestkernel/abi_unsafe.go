package guestkernel

import "unsafe"

// bytesOf views a fixed-layout ABI struct (unix.Stat_t, unix.Utsname, …)
// as the bytes the Linux x86-64 ABI puts in user memory. The host is
// x86-64 Linux too, so golang.org/x/sys/unix's types have the kernel
// layout.
func bytesOf[T any](p *T) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), unsafe.Sizeof(*p))
}
