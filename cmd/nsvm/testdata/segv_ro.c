/*
 * segv_ro.c: maps a page read-only and writes to it: SIGSEGV (status 139).
 */
#include <stdio.h>
#include <sys/mman.h>

int main(void)
{
	volatile unsigned char *p;

	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	printf("read-only page reads %d\n", p[0]);
	printf("writing to read-only page\n");
	fflush(stdout);
	p[0] = 1;
	printf("still alive (unexpected)\n");
	return 1;
}
