//go:build !faultbug

package guestkernel

// faultbugSkipFilesUnwind is false in real builds. Under the test-only
// build tag faultbug copyProcess forgets to release the fd table on its
// unwind path, so that the fault-injection auditor can be shown to catch
// exactly that leak (cmd/nsvm's TestInjectAuditorCatchesLeak).
const faultbugSkipFilesUnwind = false
