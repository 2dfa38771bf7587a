/*
 * fault-null.c: prints one line, then stores to address 0. The process is
 * expected to die with SIGSEGV (exit status 139 under a shell or nsvm).
 */
#include <stdio.h>

int main(void)
{
	volatile int *p = (volatile int *)0;

	printf("about to store to NULL\n");
	fflush(stdout);
	*p = 42;
	printf("still alive (unexpected)\n");
	return 1;
}
