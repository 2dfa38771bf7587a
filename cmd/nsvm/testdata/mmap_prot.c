/*
 * mmap_prot.c: anonymous mmap, mprotect, munmap and brk. Prints results
 * only, never addresses.
 */
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

int main(void)
{
	size_t n = 64 << 10, i;
	unsigned char *p, *q, *brk0, *grown;
	unsigned long sum = 0, sum2 = 0;

	p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap RW");
		return 1;
	}
	for (i = 0; i < n; i++)
		if (p[i] != 0) {
			printf("fresh anonymous memory is not zero at offset %zu\n", i);
			return 1;
		}
	printf("mmap rw: zero-filled\n");
	for (i = 0; i < n; i++) {
		p[i] = (unsigned char)(i * 13 + 7);
		sum += p[i];
	}
	printf("mmap rw: sum %lu\n", sum);

	if (mprotect(p, n, PROT_READ) != 0) {
		perror("mprotect PROT_READ");
		return 1;
	}
	for (i = 0; i < n; i++)
		sum2 += ((volatile unsigned char *)p)[i];
	printf("mprotect read: sum %lu (%s)\n", sum2, sum == sum2 ? "same" : "DIFFERENT");

	if (munmap(p, n) != 0) {
		perror("munmap");
		return 1;
	}
	printf("munmap ok\n");

	q = mmap(NULL, 3 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (q == MAP_FAILED) {
		perror("mmap PROT_NONE");
		return 1;
	}
	if (mprotect(q + 4096, 4096, PROT_READ | PROT_WRITE) != 0) {
		perror("mprotect RW");
		return 1;
	}
	memset(q + 4096, 0x42, 4096);
	printf("prot_none then rw: %d %d\n", q[4096], q[8191]);
	if (munmap(q, 3 * 4096) != 0) {
		perror("munmap 2");
		return 1;
	}

	printf("munmap(unaligned): %d\n", munmap((void *)4097, 4096));
	printf("mmap(len 0): %s\n", mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED ? "failed" : "succeeded");

	brk0 = sbrk(0);
	if (brk0 == (void *)-1) {
		perror("sbrk(0)");
		return 1;
	}
	grown = sbrk(256 << 10);
	if (grown == (void *)-1) {
		perror("sbrk(256 KiB)");
		return 1;
	}
	printf("sbrk: returned old break: %s\n", grown == brk0 ? "yes" : "no");
	printf("sbrk: new break is 256 KiB higher: %s\n",
	       (unsigned char *)sbrk(0) - brk0 == (256 << 10) ? "yes" : "no");
	for (i = 0; i < (256 << 10); i++)
		grown[i] = (unsigned char)i;
	sum = 0;
	for (i = 0; i < (256 << 10); i++)
		sum += grown[i];
	printf("sbrk: sum %lu\n", sum);
	if (sbrk(-(128 << 10)) == (void *)-1) {
		perror("sbrk shrink");
		return 1;
	}
	printf("sbrk shrink ok\n");
	return 0;
}
