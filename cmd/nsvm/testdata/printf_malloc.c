/*
 * printf_malloc.c: stdio formatting and the heap. Prints argv[1..],
 * NSVM_TEST_VAR, a range of printf conversions, checksums of a 4 MiB
 * malloc (an mmap'd chunk in glibc), a realloc'd block and many small
 * blocks (brk heap), then exits with status 3. No addresses are printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

static unsigned long checksum(const unsigned char *p, size_t n)
{
	unsigned long s = 1469598103934665603UL;
	size_t i;

	for (i = 0; i < n; i++)
		s = (s ^ p[i]) * 1099511628211UL;
	return s;
}

int main(int argc, char **argv)
{
	const char *v;
	unsigned char *big, *r, *small[1000];
	size_t i, n = 4 << 20;
	unsigned long s = 0;

	printf("argc=%d\n", argc);
	for (i = 1; i < (size_t)argc; i++)
		printf("argv[%zu]=\"%s\"\n", i, argv[i]);
	v = getenv("NSVM_TEST_VAR");
	printf("NSVM_TEST_VAR=%s\n", v ? v : "(unset)");

	printf("ints: %d %i %u %x %X %o %ld %lld %hhd %hd\n", -42, 42, 4000000000U,
	       0xbeef, 0xbeef, 0755, -1234567890123L, 9223372036854775807LL,
	       (signed char)-3, (short)-32768);
	printf("pad: [%5d] [%-5d] [%05d] [%+d] [% d] [%#x] [%#o]\n", 42, 42, 42, 42, 42, 255, 8);
	printf("floats: %f %.3f %10.2f %-10.1f| %e %.2E %g %g %g %G\n", 3.14159265358979,
	       2.0 / 3.0, -1234.5678, 0.05, 6.02214076e23, 1.602e-19, 100000.0, 1e-5,
	       0.0001234, 1e300 * 10);
	printf("floats2: %a %.0f %.20f %g\n", 1.0, 2.5, 0.1, -0.0);
	printf("strings: [%s] [%10s] [%-10s] [%.3s] [%c] [%%]\n", "nsvm", "right", "left",
	       "truncate", 'Z');
	printf("sizes: %zu %zu %zu\n", sizeof(long), sizeof(void *), sizeof(long double));

	big = malloc(n);
	if (big == NULL) {
		perror("malloc 4 MiB");
		return 1;
	}
	memset(big, 0xa5, n);
	for (i = 0; i < n; i += 4096)
		big[i] = (unsigned char)(i >> 12);
	printf("big: %lx\n", checksum(big, n));

	r = realloc(big, n * 2);
	if (r == NULL) {
		perror("realloc");
		return 1;
	}
	memset(r + n, 0x5a, n);
	printf("realloc: %lx\n", checksum(r, n * 2));
	r = realloc(r, 100);
	printf("shrunk: %lx\n", checksum(r, 100));
	free(r);

	for (i = 0; i < 1000; i++) {
		small[i] = malloc(16 + i % 200);
		if (small[i] == NULL) {
			perror("malloc small");
			return 1;
		}
		memset(small[i], (int)i, 16 + i % 200);
	}
	for (i = 0; i < 1000; i += 2)
		free(small[i]);
	for (i = 0; i < 1000; i += 2) {
		small[i] = calloc(1, 24);
		if (small[i] == NULL) {
			perror("calloc");
			return 1;
		}
	}
	for (i = 0; i < 1000; i++) {
		s = s * 33 + checksum(small[i], i % 2 ? 16 + i % 200 : 24);
		free(small[i]);
	}
	printf("small: %lx\n", s);
	printf("bye\n");
	exit(3);
}
