//go:build faultbug

package guestkernel

// faultbugSkipFilesUnwind: see unwind_ok.go. A deliberate bug, for tests.
const faultbugSkipFilesUnwind = true
