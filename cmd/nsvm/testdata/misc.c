/*
 * misc.c: identity, uname, terminal and fd 0-2 state, clocks, sleep,
 * sched_yield, getrandom, /proc/self/exe, rlimits and the page size.
 * Host values are printed only where the guest kernel passes the host's
 * real values through (uid/gid, uname, isatty/fstat of fds 0-2, the
 * absolute path of the program); everything else prints a verdict.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/utsname.h>

static const char *ftype(mode_t m)
{
	if (S_ISFIFO(m))
		return "fifo";
	if (S_ISREG(m))
		return "regular file";
	if (S_ISCHR(m))
		return "character device";
	if (S_ISSOCK(m))
		return "socket";
	return "other";
}

static long long ns(const struct timespec *t)
{
	return (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
}

int main(void)
{
	struct utsname u;
	struct stat st;
	struct timespec a, b, req = {0, 2000000};
	struct timeval tv;
	struct rlimit rl;
	unsigned char rnd[32];
	char exe[PATH_MAX];
	ssize_t n;
	time_t now;
	int fd;

	printf("uid=%u euid=%u gid=%u egid=%u\n", getuid(), geteuid(), getgid(), getegid());

	if (uname(&u) != 0) {
		perror("uname");
		return 1;
	}
	printf("uname: sysname=%s release=%s machine=%s nodename=%s\n", u.sysname, u.release,
	       u.machine, u.nodename);

	for (fd = 0; fd <= 2; fd++) {
		printf("isatty(%d)=%d", fd, isatty(fd));
		if (fstat(fd, &st) == 0)
			printf(" fstat: %s\n", ftype(st.st_mode));
		else
			printf(" fstat: %s\n", strerror(errno));
	}

	if (clock_gettime(CLOCK_MONOTONIC, &a) != 0 || clock_gettime(CLOCK_MONOTONIC, &b) != 0) {
		perror("clock_gettime");
		return 1;
	}
	printf("monotonic %s\n", ns(&b) >= ns(&a) ? "ok" : "WENT BACKWARDS");

	if (gettimeofday(&tv, NULL) != 0) {
		perror("gettimeofday");
		return 1;
	}
	now = time(NULL);
	printf("time %s\n", (now - tv.tv_sec <= 2 && tv.tv_sec - now <= 2) ? "ok" : "DISAGREES");

	clock_gettime(CLOCK_MONOTONIC, &a);
	if (nanosleep(&req, NULL) != 0) {
		perror("nanosleep");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("sleep %s\n", ns(&b) - ns(&a) >= 2000000 ? "ok" : "TOO SHORT");

	printf("sched_yield=%d\n", sched_yield());

	n = getrandom(rnd, sizeof rnd, 0);
	printf("random %s\n", n == (ssize_t)sizeof rnd ? "ok" : "FAILED");

	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n < 0) {
		perror("readlink /proc/self/exe");
		return 1;
	}
	exe[n] = '\0';
	printf("exe=%s\n", exe);

	printf("rlimit %s\n", getrlimit(RLIMIT_STACK, &rl) == 0 ? "ok" : "FAILED");
	printf("pagesize=%ld\n", sysconf(_SC_PAGESIZE));
	return 0;
}
