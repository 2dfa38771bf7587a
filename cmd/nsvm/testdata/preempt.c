// preempt: a child that never makes a syscall must not starve its
// parent. The child spins on shared memory; the parent sleeps, checks the
// child made progress, tells it to stop through the shared word, and
// reaps it. A second child spins forever and is killed with SIGKILL.
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(void) {
	volatile long *shared = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	shared[0] = 0; // progress counter
	shared[1] = 0; // stop request
	pid_t a = fork();
	if (a == 0) {
		while (!shared[1])
			shared[0]++;
		_exit(7);
	}
	struct timespec ts = {0, 50 * 1000 * 1000};
	nanosleep(&ts, 0);
	printf("spinner made progress while the parent slept: %s\n", shared[0] > 0 ? "yes" : "no");
	shared[1] = 1;
	int st;
	waitpid(a, &st, 0);
	printf("spinner stopped on request, status %d\n", WEXITSTATUS(st));

	pid_t b = fork();
	if (b == 0)
		for (;;)
			;
	nanosleep(&ts, 0);
	kill(b, SIGKILL);
	waitpid(b, &st, 0);
	printf("busy child killed by signal %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	return 0;
}
