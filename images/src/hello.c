/*
 * hello.c: the default nsvm image. A static glibc program that exercises
 * stdio (printf), the heap (malloc of 1 MiB) and uname(2).
 *
 * The output is deterministic: it prints no pids, addresses or times, and
 * it does not print argv[0] (whose path differs between a native run and
 * "nsvm run" with the embedded image), only argc and argv[1..].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

int main(int argc, char **argv)
{
	struct utsname u;
	unsigned char *buf;
	unsigned long sum = 0;
	size_t i, n = 1 << 20;

	printf("hello from nsvm: a static glibc program in a KVM micro-VM\n");
	printf("argc=%d\n", argc);
	for (i = 1; i < (size_t)argc; i++)
		printf("argv[%zu]=%s\n", i, argv[i]);

	if (uname(&u) != 0) {
		perror("uname");
		return 1;
	}
	printf("uname: %s %s\n", u.sysname, u.machine);

	buf = malloc(n);
	if (buf == NULL) {
		perror("malloc");
		return 1;
	}
	for (i = 0; i < n; i++)
		buf[i] = (unsigned char)(i * 7 + (i >> 8));
	for (i = 0; i < n; i++)
		sum = sum * 31 + buf[i];
	free(buf);
	printf("malloc: 1 MiB filled, checksum %016lx\n", sum);
	printf("goodbye\n");
	return 0;
}
