/*
 * efault.c: system calls with wild user pointers must fail with EFAULT
 * (or behave exactly like Linux), never crash the process or the VM.
 * Raw syscall(2) is used so that glibc and the vDSO do not intervene.
 *
 * Note: stdin is empty in the tests, and Linux returns 0 (EOF) from
 * read(0, bad, 1) without touching the buffer in that case.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

static void report(const char *what, long ret)
{
	printf("%-40s ret=%ld errno=%s\n", what, ret, ret < 0 ? strerror(errno) : "-");
	fflush(stdout);
}

int main(void)
{
	long r;

	errno = 0;
	r = syscall(SYS_write, 1, (void *)16, 5);
	report("write(1, 0x10, 5)", r);

	errno = 0;
	r = syscall(SYS_read, 0, (void *)8, 1);
	report("read(0, 0x8, 1)", r);

	errno = 0;
	r = syscall(SYS_uname, (void *)1);
	report("uname(0x1)", r);

	errno = 0;
	r = syscall(SYS_clock_gettime, CLOCK_MONOTONIC, (void *)8);
	report("clock_gettime(MONOTONIC, 0x8)", r);

	errno = 0;
	r = syscall(SYS_getrandom, (void *)8, 16, 0);
	report("getrandom(0x8, 16, 0)", r);

	errno = 0;
	r = syscall(SYS_readlink, "/proc/self/exe", (void *)8, 10);
	report("readlink(/proc/self/exe, 0x8, 10)", r);

	errno = 0;
	r = syscall(SYS_write, 1, (void *)0xffff800000000000UL, 5);
	report("write(1, kernel address, 5)", r);

	printf("still alive\n");
	return 0;
}
