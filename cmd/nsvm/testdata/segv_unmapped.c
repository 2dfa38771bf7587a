/*
 * segv_unmapped.c: stores to an unmapped address (0xdead000): SIGSEGV
 * (status 139).
 */
#include <stdio.h>

int main(void)
{
	volatile int *p = (volatile int *)0xdead000;

	printf("storing to unmapped address\n");
	fflush(stdout);
	*p = 42;
	printf("still alive (unexpected)\n");
	return 1;
}
