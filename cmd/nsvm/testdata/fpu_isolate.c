// fpu_isolate: after fork, parent and child have separate FPU/vector
// state: what one of them loads never shows up in the other (spec 1.6).
//
// Round 1: the child loads different values into every register (x87, MXCSR,
// xmm/ymm/zmm0-31, k0-7), calls sched_yield and exits; the parent, blocked
// in a raw wait4 meanwhile, must still hold its own values afterwards.
// Round 2: the parent loads different values, writes a pipe to release the
// child (blocked in a raw read), and waits; the child must still hold the
// values from before the fork, and the parent its new ones.
// Load, syscalls and register stores are one assembly routine, because the
// SysV ABI makes every vector register caller-saved. An optional argument
// 0-3 caps the register sets: 0 sse, 1 avx, 2 avx512 with 16-bit k
// registers, 3 all.
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fpu_state.h"

static struct fstate A, B, cdump, pdump;

static int round_(int mode, uint64_t seed) {
	int p[2];
	if (pipe(p) != 0) {
		perror("pipe");
		return 1;
	}
	struct ctl c;
	memset(&c, 0, sizeof c);
	fill(&A, seed, 0);
	fill(&B, seed + 100, 1);
	memset(&cdump, 0, sizeof cdump);
	memset(&pdump, 0, sizeof pdump);
	int status = -1;
	char byte = 'x';
	c.level = level;
	c.a = &A;
	c.b = &B;
	c.cdump = &cdump;
	c.pdump = &pdump;
	c.mode = mode;
	c.rfd = p[0];
	c.wfd = p[1];
	c.status = &status;
	c.buf = &byte;
	c.nr = 57;
	printf("round %d: %s\n", mode,
	       mode == 1 ? "child loads other values and exits; parent waits"
			 : "parent loads other values, releases the child and waits");
	fflush(stdout);
	long pid = fpu_fork(&c);
	if (pid < 0) {
		printf("  fork failed: errno %ld\n", -pid);
		return 1;
	}
	if (pid == 0) {
		int bad;
		if (mode == 1) {
			bad = check("child", &cdump, &B);
			printf("  child: state == its own new values: %s\n", bad ? "NO" : "yes");
		} else {
			bad = check("child", &cdump, &A);
			printf("  child: state == values from before fork: %s\n", bad ? "NO" : "yes");
		}
		fflush(stdout);
		_exit(bad ? 1 : 0);
	}
	close(p[0]);
	close(p[1]);
	int bad;
	if (mode == 1) {
		bad = check("parent", &pdump, &A);
		printf("  parent: state unchanged by child: %s\n", bad ? "NO" : "yes");
	} else {
		bad = check("parent", &pdump, &B);
		printf("  parent: state == its own new values: %s\n", bad ? "NO" : "yes");
	}
	printf("  wait4() == fork() return: %s\n", c.waitret == pid ? "yes" : "no");
	if (WIFEXITED(status))
		printf("  child exit status %d\n", WEXITSTATUS(status));
	else
		printf("  child status %#x\n", status);
	return bad || c.waitret != pid || status != 0;
}

int main(int argc, char **argv) {
	detect();
	if (argc > 1 && atoi(argv[1]) < level) // optional cap, to test the smaller register sets
		level = atoi(argv[1]) < 0 ? 0 : atoi(argv[1]);
	printf("register sets tested: %s\n", level_sets[level]);
	int fails = round_(1, 11);
	fails += round_(2, 12);
	printf("all rounds: %s\n", fails ? "FAILED" : "parent and child FPU states are isolated");
	return fails ? 1 : 0;
}
