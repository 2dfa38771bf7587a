/*
 * fault-ud2.c: prints one line, then executes ud2, an undefined opcode.
 * The process is expected to die with SIGILL (exit status 132).
 */
#include <stdio.h>

int main(void)
{
	printf("about to execute ud2\n");
	fflush(stdout);
	__asm__ volatile("ud2");
	printf("still alive (unexpected)\n");
	return 1;
}
