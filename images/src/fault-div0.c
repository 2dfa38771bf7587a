/*
 * fault-div0.c: prints one line, then divides an integer by zero. The
 * operands are volatile so the compiler must emit a real idiv. The process
 * is expected to die with SIGFPE (exit status 136).
 */
#include <stdio.h>

int main(void)
{
	volatile int num = 42;
	volatile int den = 0;
	int q;

	printf("about to divide by zero\n");
	fflush(stdout);
	q = num / den;
	printf("still alive (unexpected): %d\n", q);
	return 1;
}
