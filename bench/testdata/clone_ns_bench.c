// clone_ns_bench N: for a plain fork and for clone with each CLONE_NEW*
// flag, N cycles of clone + _exit + waitpid, timed inside the program.
// Prints one "<name>: <ns> ns/op" line per flag set.
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
	long n = argc > 1 ? atol(argv[1]) : 100;
	struct {
		const char *name;
		long flags;
	} sets[] = {
		{"fork", 0},
		{"NEWUTS", CLONE_NEWUTS},
		{"NEWIPC", CLONE_NEWIPC},
		{"NEWPID", CLONE_NEWPID},
		{"NEWNET", CLONE_NEWNET},
		{"NEWNS", CLONE_NEWNS},
		{"NEWCGROUP", CLONE_NEWCGROUP},
		{"NEWUSER", CLONE_NEWUSER},
	};
	for (unsigned s = 0; s < sizeof sets / sizeof *sets; s++) {
		long long t0 = now();
		for (long i = 0; i < n; i++) {
			long pid = syscall(SYS_clone, sets[s].flags | SIGCHLD, 0, 0, 0, 0);
			if (pid < 0) {
				printf("%s: error\n", sets[s].name);
				break;
			}
			if (pid == 0)
				_exit(0);
			waitpid(pid, NULL, 0);
		}
		printf("%s: %lld ns/op\n", sets[s].name, (now() - t0) / n);
	}
	return 0;
}
