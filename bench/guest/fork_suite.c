// fork_suite OP N [PAGES]: N timed cycles of one process-creation call
// plus _exit plus wait, for `nsvm bench fork`. The same binary runs
// natively and under nsvm. Each sample is the time of one cycle measured
// inside the program with CLOCK_MONOTONIC, minus the measured cost of
// reading the clock (a syscall exit under nsvm, the vDSO natively).
// PAGES 4 KiB pages are touched first (the parent's resident memory).
// Output: "clock <ns>" then "samples <ns> <ns> ...".
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/sched.h>

static long long now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

static long cycle(const char *op) {
	long pid;
	if (!strcmp(op, "fork")) {
		pid = fork();
	} else if (!strcmp(op, "vfork")) {
		pid = vfork();
	} else if (!strcmp(op, "clone3")) {
		struct clone_args a;
		memset(&a, 0, sizeof a);
		a.exit_signal = SIGCHLD;
		pid = syscall(SYS_clone3, &a, sizeof a);
	} else {
		long flags = 0;
		if (!strcmp(op, "clone")) flags = 0;
		else if (!strcmp(op, "clone-newuts")) flags = CLONE_NEWUTS;
		else if (!strcmp(op, "clone-newipc")) flags = CLONE_NEWIPC;
		else if (!strcmp(op, "clone-newpid")) flags = CLONE_NEWPID;
		else if (!strcmp(op, "clone-newnet")) flags = CLONE_NEWNET;
		else if (!strcmp(op, "clone-newns")) flags = CLONE_NEWNS;
		else if (!strcmp(op, "clone-newcgroup")) flags = CLONE_NEWCGROUP;
		else if (!strcmp(op, "clone-newuser")) flags = CLONE_NEWUSER;
		else return -2;
		pid = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
	}
	if (pid == 0)
		_exit(0);
	if (pid < 0)
		return -1;
	waitpid(pid, NULL, 0);
	return 0;
}

// parallel P N: P forkers each doing N fork cycles at once; prints the
// wall time per fork over all of them (1e9 / forks per second).
static int parallel(int p, long n) {
	long long t0 = now();
	for (int i = 0; i < p; i++) {
		if (fork() == 0) {
			for (long j = 0; j < n; j++)
				if (cycle("fork") < 0)
					_exit(1);
			_exit(0);
		}
	}
	int bad = 0, st;
	while (wait(&st) > 0)
		bad |= !WIFEXITED(st) || WEXITSTATUS(st);
	long long t = now() - t0;
	printf("clock 0\nsamples %lld\n", t / (p * n));
	return bad;
}

int main(int argc, char **argv) {
	if (argc < 3)
		return 2;
	const char *op = argv[1];
	if (!strcmp(op, "parallel"))
		return parallel(atoi(argv[2]), argc > 3 ? atol(argv[3]) : 100);
	long n = atol(argv[2]);
	long pages = argc > 3 ? atol(argv[3]) : 0;
	if (pages > 0) {
		char *p = mmap(0, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return 3;
		for (long i = 0; i < pages; i++)
			p[i * 4096] = (char)i;
	}
	// The clock's own cost: the median of back-to-back readings.
	long long c[201];
	for (int i = 0; i < 201; i++) {
		long long a = now();
		c[i] = now() - a;
	}
	qsort(c, 201, sizeof *c, cmp);
	long long clk = c[100];
	long long *s = malloc(n * sizeof *s);
	if (cycle(op) < 0) // warm up (and check the op works)
		return 4;
	long long t = now();
	for (long i = 0; i < n; i++) {
		if (cycle(op) < 0)
			return 5;
		long long u = now();
		s[i] = u - t - clk;
		t = u;
	}
	printf("clock %lld\nsamples", clk);
	for (long i = 0; i < n; i++)
		printf(" %lld", s[i]);
	printf("\n");
	return 0;
}
