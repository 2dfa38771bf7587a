// ns_errno: the errno matrix of unshare and of clone with namespace flags
// (spec 2.2, 2.4, checklist items 10 and 16): bad unshare flags, the
// NEWIPC|SYSVSEM conflict (EINVAL for clone as root, allowed for unshare),
// the thread-group checks of unshare, and the unprivileged cases (EPERM,
// which comes before the NEWIPC|SYSVSEM EINVAL).
//
// All calls are raw syscalls. A clone that unexpectedly succeeds leaves
// the child at once with _exit(0); the parent reports and reaps it. Each
// process exits with its number of unexpected results, and the last line
// gives the total.
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nstest.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static void try_unshare(const char *name, long flags, int want) {
	long r = syscall(SYS_unshare, flags);
	check(name, r, errno, want);
}

// try_clone runs a fork-like raw clone (no CLONE_VM, stack 0); a child
// that is unexpectedly created leaves at once.
static void try_clone(const char *name, long flags, int want) {
	long r = syscall(SYS_clone, flags | SIGCHLD, 0L, 0L, 0L, 0L);
	if (r == 0)
		_exit(0);
	if (r > 0) {
		int st = 0;
		pid_t w = waitpid((pid_t)r, &st, 0);
		printf("%s: UNEXPECTED SUCCESS (child reaped: %s)\n", name, w == r ? "yes" : "no");
		bad++;
		return;
	}
	check(name, r, errno, want);
}

static int tpipe[2];

static void *blocker(void *arg) {
	char c;
	(void)arg;
	if (read(tpipe[0], &c, 1) != 1)
		return (void *)1;
	return NULL;
}

// root_child: unshare calls that succeed (or fail only because of other
// threads) for a privileged single process; run in a child so that the
// test's own process keeps its namespaces.
static void root_child(void) {
	try_unshare("unshare(NEWIPC|SYSVSEM) as root", CLONE_NEWIPC | CLONE_SYSVSEM, 0);
	try_unshare("unshare(SYSVSEM)", CLONE_SYSVSEM, 0);
	try_unshare("unshare(FS|FILES)", CLONE_FS | CLONE_FILES, 0);
	try_unshare("unshare(THREAD|SIGHAND|VM), single-threaded", CLONE_THREAD | CLONE_SIGHAND | CLONE_VM, 0);
	try_unshare("unshare(NEWUTS|NEWIPC|NEWNET|NEWCGROUP|NEWNS) as root",
		    CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_NEWNS, 0);

	pthread_t th;
	if (pipe(tpipe) != 0 || pthread_create(&th, NULL, blocker, NULL) != 0) {
		printf("cannot start a thread\n");
		_exit(bad + 1);
	}
	try_unshare("unshare(NEWUSER), 2 threads", CLONE_NEWUSER, EINVAL);
	try_unshare("unshare(THREAD), 2 threads", CLONE_THREAD, EINVAL);
	try_unshare("unshare(VM), 2 threads", CLONE_VM, EINVAL);
	try_unshare("unshare(SIGHAND), 2 threads", CLONE_SIGHAND, EINVAL);
	try_unshare("unshare(NEWUTS), 2 threads", CLONE_NEWUTS, 0);
	void *res = (void *)1;
	if (write(tpipe[1], "x", 1) != 1 || pthread_join(th, &res) != 0 || res != NULL) {
		printf("thread did not finish cleanly\n");
		bad++;
	}
	_exit(bad);
}

static const struct {
	const char *name;
	long flag;
} nsflags[] = {
	{"NEWPID", CLONE_NEWPID},
	{"NEWNS", CLONE_NEWNS},
	{"NEWUTS", CLONE_NEWUTS},
	{"NEWIPC", CLONE_NEWIPC},
	{"NEWNET", CLONE_NEWNET},
	{"NEWCGROUP", CLONE_NEWCGROUP},
	{"NEWIPC|SYSVSEM", CLONE_NEWIPC | CLONE_SYSVSEM},
};

// unpriv_child drops every privilege (nobody/nogroup, no supplementary
// groups) and tries to create namespaces.
static void unpriv_child(void) {
	if (setgroups(0, NULL) != 0 || setresgid(65534, 65534, 65534) != 0 ||
	    setresuid(65534, 65534, 65534) != 0) {
		printf("cannot drop privileges: %s\n", ename(errno));
		_exit(bad + 1);
	}
	printf("dropped privileges: uid=%d euid=%d gid=%d egid=%d\n", (int)getuid(), (int)geteuid(),
	       (int)getgid(), (int)getegid());
	char name[64];
	for (size_t i = 0; i < sizeof nsflags / sizeof nsflags[0]; i++) {
		snprintf(name, sizeof name, "unshare(%s)", nsflags[i].name);
		try_unshare(name, nsflags[i].flag, EPERM);
	}
	try_unshare("unshare(NEWTIME)", CLONE_NEWTIME, EPERM);
	for (size_t i = 0; i < sizeof nsflags / sizeof nsflags[0]; i++) {
		snprintf(name, sizeof name, "clone(%s)", nsflags[i].name);
		try_clone(name, nsflags[i].flag, EPERM);
	}
	// Harmless flags still work without privilege.
	try_unshare("unshare(0) unprivileged", 0, 0);
	try_unshare("unshare(FS|FILES|SYSVSEM) unprivileged", CLONE_FS | CLONE_FILES | CLONE_SYSVSEM, 0);
	_exit(bad);
}

int main(void) {
	setvbuf(stdout, NULL, _IONBF, 0);

	printf("-- as root\n");
	try_unshare("unshare(-1)", -1L, EINVAL);
	try_unshare("unshare(0)", 0, 0);
	try_unshare("unshare(CLONE_IO)", CLONE_IO, EINVAL);
	try_unshare("unshare(CLONE_PIDFD)", CLONE_PIDFD, EINVAL);
	try_unshare("unshare(1<<40)", 1L << 40, EINVAL);
	try_unshare("unshare(NEWUTS|CLONE_IO)", CLONE_NEWUTS | CLONE_IO, EINVAL);
	try_clone("clone(NEWIPC|SYSVSEM)", CLONE_NEWIPC | CLONE_SYSVSEM, EINVAL);

	printf("-- as root, in a child\n");
	in_child("root child", root_child);

	printf("-- unprivileged child\n");
	in_child("unprivileged child", unpriv_child);

	printf("unexpected results: %d\n", bad);
	return 0;
}
