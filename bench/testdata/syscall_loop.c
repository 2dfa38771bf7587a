// syscall_loop N MODE: the guest side of the syscall round-trip
// benchmarks. MODE getpid: N getpid syscalls; nowork: N syscalls of nsvm's
// no-work baseline number (the VMM resumes at once); out: N calls of the
// user-callable `out; ret` in nsvm's entry page (the bare exit floor).
// Only meaningful under nsvm with Config.Bench.
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#define NOWORK 0x4e53
#define BENCH_OUT 0xffffffff80004040UL

static inline long raw_syscall0(long nr) {
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr) : "rcx", "r11", "memory");
	return ret;
}

int main(int argc, char **argv) {
	if (argc < 3) return 2;
	long n = atol(argv[1]);
	if (!strcmp(argv[2], "getpid")) {
		for (long i = 0; i < n; i++) raw_syscall0(SYS_getpid);
	} else if (!strcmp(argv[2], "nowork")) {
		for (long i = 0; i < n; i++) raw_syscall0(NOWORK);
	} else if (!strcmp(argv[2], "out")) {
		void (*out)(void) = (void (*)(void))BENCH_OUT;
		for (long i = 0; i < n; i++) out();
	} else {
		return 2;
	}
	return 0;
}
