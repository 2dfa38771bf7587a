// fpu_inherit: a forked child inherits the parent's complete user FPU and
// vector state (spec 1.6, checklist item 20; like the kernel selftest
// x86/xstate.c test_xstate_fork).
//
// Distinctive values are loaded into every register the CPU and XCR0
// enable: x87 control word and two stack registers, MXCSR, xmm0-15, the
// upper halves of ymm0-15, zmm0-31 (all 512 bits) and k0-7. Then the
// process forks with a raw syscall (fork, then legacy clone(SIGCHLD), then
// clone3 with exit_signal SIGCHLD), and both sides store their registers
// to memory right after the syscall returns. All of it -- load, syscall,
// store -- is one assembly routine, because the SysV ABI makes every vector
// register caller-saved: no C code may run in between.
//
// Which register sets were tested depends on the CPU; under nsvm the guest
// sees the host's CPUID/XCR0, so the output must match a native run. An
// optional argument 0-3 caps the sets: 0 sse, 1 avx, 2 avx512 with 16-bit
// k registers, 3 all.
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fpu_state.h"

struct clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

static struct fstate A, cdump, pdump;

static int round_(const char *name, uint64_t nr, uint64_t arg1, uint64_t arg2, uint64_t seed) {
	struct ctl c;
	memset(&c, 0, sizeof c);
	fill(&A, seed, 0);
	memset(&cdump, 0, sizeof cdump);
	memset(&pdump, 0, sizeof pdump);
	c.level = level;
	c.a = &A;
	c.b = &A;
	c.cdump = &cdump;
	c.pdump = &pdump;
	c.mode = 0;
	c.nr = nr;
	c.arg1 = arg1;
	c.arg2 = arg2;
	printf("%s:\n", name);
	fflush(stdout);
	long pid = fpu_fork(&c);
	if (pid < 0) {
		printf("  %s failed: errno %ld\n", name, -pid);
		return 1;
	}
	if (pid == 0) {
		int bad = check("child", &cdump, &A);
		printf("  child: state == loaded values: %s\n", bad ? "NO" : "yes");
		fflush(stdout);
		_exit(bad ? 1 : 0);
	}
	int st;
	pid_t w = waitpid((pid_t)pid, &st, 0);
	int bad = check("parent", &pdump, &A);
	printf("  parent: state == loaded values: %s\n", bad ? "NO" : "yes");
	printf("  waitpid() == %s() return: %s\n", name, w == pid ? "yes" : "no");
	if (WIFEXITED(st))
		printf("  child exit status %d\n", WEXITSTATUS(st));
	else
		printf("  child killed by signal %d\n", WTERMSIG(st));
	return bad || w != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0;
}

int main(int argc, char **argv) {
	detect();
	if (argc > 1 && atoi(argv[1]) < level) // optional cap, to test the smaller register sets
		level = atoi(argv[1]) < 0 ? 0 : atoi(argv[1]);
	printf("register sets tested: %s\n", level_sets[level]);
	int fails = 0;
	fails += round_("fork", 57, 0, 0, 1);
	fails += round_("clone", 56, SIGCHLD, 0, 2);
	static struct clone_args ca;
	memset(&ca, 0, sizeof ca);
	ca.exit_signal = SIGCHLD;
	fails += round_("clone3", 435, (uint64_t)(uintptr_t)&ca, sizeof ca, 3);
	printf("all rounds: %s\n", fails ? "FAILED" : "child state == parent state == loaded values");
	return fails ? 1 : 0;
}
