// nstest.h: the reporting helpers the namespace test programs share
// (included, not compiled on its own). Each program counts the results
// that differ from what Linux gives in `bad` and exits with it.
#ifndef NSTEST_H
#define NSTEST_H
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NSTEST_UNUSED __attribute__((unused))

// ename names an errno ("EPERM"; "0" for success).
static NSTEST_UNUSED const char *ename(int e) {
	static char buf[32];
	if (e == 0)
		return "0";
	const char *n = strerrorname_np(e);
	if (n)
		return n;
	snprintf(buf, sizeof buf, "errno %d", e);
	return buf;
}

static NSTEST_UNUSED const char *yesno(int b) { return b ? "yes" : "no"; }

static NSTEST_UNUSED int bad;

// expect prints a check and counts it when it fails.
static NSTEST_UNUSED void expect(const char *what, int ok) {
	printf("%s: %s\n", what, yesno(ok));
	if (!ok)
		bad++;
}

// check prints a raw syscall's result and counts unexpected ones.
static NSTEST_UNUSED void check(const char *name, long ret, int err, int want) {
	int got = ret == 0 ? 0 : err;
	if (ret == 0)
		printf("%s: 0\n", name);
	else
		printf("%s: errno=%s\n", name, ename(err));
	if (got != want)
		bad++;
}

// reap waits for a child and adds its exit status (its count of
// unexpected results) to ours.
static NSTEST_UNUSED void reap(const char *what, pid_t pid) {
	int st = 0;
	pid_t w = waitpid(pid, &st, 0);
	if (w != pid || !WIFEXITED(st)) {
		printf("%s: waitpid %s, status %#x\n", what, w == pid ? "ok" : "failed", st);
		bad++;
		return;
	}
	printf("%s: exit status %d\n", what, WEXITSTATUS(st));
	bad += WEXITSTATUS(st);
}

// in_child runs fn in a forked child, which exits with its own count of
// unexpected results, and reaps it. A failed fork ends the test (100).
static NSTEST_UNUSED void in_child(const char *what, void (*fn)(void)) {
	fflush(stdout);
	pid_t p = fork();
	if (p < 0) {
		printf("fork failed: %s\n", ename(errno));
		exit(100);
	}
	if (p == 0) {
		fn();
		fflush(stdout);
		_exit(bad);
	}
	reap(what, p);
}
#endif
