// fork_loop: many processes. 1000 sequential fork + _exit + waitpid
// cycles (pids get recycled inside the guest kernel; every status must come
// back right), then a 64-process tree built by forking 6 times in a row
// (each fork doubles the processes: a binomial tree of depth 6) in which
// every process waits for its own children and exits with 1 + the sum of
// their statuses, so the root counts all 64 processes.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CYCLES 1000
#define LEVELS 6

int main(void) {
	int good = 0, st;
	for (int i = 0; i < CYCLES; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			printf("fork %d failed: %s\n", i, strerror(errno));
			return 1;
		}
		if (pid == 0)
			_exit(i & 0xff);
		pid_t w = waitpid(pid, &st, 0);
		if (w == pid && WIFEXITED(st) && WEXITSTATUS(st) == (i & 0xff))
			good++;
	}
	printf("fork/_exit/waitpid cycles: %d/%d correct\n", good, CYCLES);

	// The tree. Each process remembers the children it forked itself.
	fflush(stdout);
	pid_t kids[LEVELS];
	int nkids = 0, bad = 0;
	for (int level = 0; level < LEVELS; level++) {
		pid_t pid = fork();
		if (pid < 0)
			_exit(200);
		if (pid == 0)
			nkids = 0; // a new process: its children are its own
		else
			kids[nkids++] = pid;
	}
	int count = 1;
	for (int i = 0; i < nkids; i++) {
		pid_t w = waitpid(kids[i], &st, 0);
		if (w != kids[i] || !WIFEXITED(st) || WEXITSTATUS(st) >= 200)
			bad++;
		else
			count += WEXITSTATUS(st);
	}
	errno = 0;
	pid_t w = waitpid(-1, &st, WNOHANG);
	if (w != -1 || errno != ECHILD)
		bad++;
	if (nkids < LEVELS) {
		// Not the root (only the root forked at every level): report
		// upwards. Counts stay at most 32, below the error value 200.
		_exit(bad ? 200 : count);
	}
	printf("tree: %d processes counted, %d errors\n", count, bad);
	printf("root had %d direct children\n", nkids);
	return 0;
}
