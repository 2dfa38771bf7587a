// fork_bench N [PAGES]: N cycles of fork + _exit + waitpid, timed inside
// the program (CLOCK_MONOTONIC around the whole loop), so that the same
// binary measures itself natively and under nsvm. With PAGES, the parent
// first touches that many 4 KiB pages of heap (a larger address space
// to copy). Prints "fork+exit+wait: <ns> ns/op".
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
	long n = argc > 1 ? atol(argv[1]) : 1000;
	long pages = argc > 2 ? atol(argv[2]) : 0;
	if (pages > 0) {
		char *p = mmap(0, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) return 2;
		for (long i = 0; i < pages; i++) p[i * 4096] = (char)i;
	}
	long long t0 = now();
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0) return 3;
		if (pid == 0) _exit(0);
		int st;
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) return 4;
	}
	long long t1 = now();
	printf("fork+exit+wait: %lld ns/op\n", (t1 - t0) / (n ? n : 1));
	return 0;
}
