// tick: what the preemption tick must do, and must not.
//
//   tick alone  one task, no timeout: it spins for 200 ms of CLOCK_MONOTONIC
//               time, which no tick may interrupt (the test counts them).
//   tick fork   parent and child both runnable: the parent spins in user
//               mode until the child, which can only run if the parent is
//               preempted, sets a word in shared memory.
//   tick sleep  the child sleeps 20 ms, then sets the word; the parent
//               spins in user mode meanwhile. Only the tick can expire the
//               child's timeout while the parent runs.
// Every mode prints "done" and exits 0.
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
	const char *mode = argc > 1 ? argv[1] : "alone";
	if (strcmp(mode, "alone") == 0) {
		volatile unsigned long n = 0;
		double t0 = now();
		while (now() - t0 < 0.2)
			for (int i = 0; i < 100000; i++)
				n++;
		printf("done\n");
		return 0;
	}
	volatile int *word = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (word == MAP_FAILED)
		return 1;
	int sleep = strcmp(mode, "sleep") == 0;
	pid_t p = fork();
	if (p < 0)
		return 1;
	if (p == 0) {
		if (sleep) {
			struct timespec ts = {0, 20 * 1000 * 1000};
			nanosleep(&ts, 0);
		}
		*word = 1;
		_exit(0);
	}
	while (!*word)
		; // no syscall: only the tick can let the child run
	int st;
	if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return 1;
	printf("done\n");
	return 0;
}
