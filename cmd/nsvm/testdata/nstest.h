// nstest.h: the reporting helpers the namespace test programs share
// (included, not compiled on its own). Each program counts the results
// that differ from what Linux gives in `bad` and exits with it.
#ifndef NSTEST_H
#define NSTEST_H
#include <errno.h>
#include <stdio.h>
#include <string.h>

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
#endif
