/*
 * fault-int3.c: prints one line, then executes int3, the breakpoint
 * instruction. The process is expected to die with SIGTRAP (exit status
 * 133).
 */
#include <stdio.h>

int main(void)
{
	printf("about to execute int3\n");
	fflush(stdout);
	__asm__ volatile("int3");
	printf("still alive (unexpected)\n");
	return 1;
}
