// ns_proc: the /proc/<pid>/ns links and setns (spec 2.1, 2.5, 3.1.3, 3.2,
// checklist item 17). Every link reads as "<type>:[<inode>]"; a child
// shares all of its parent's namespaces until it unshares one, and then
// only that link changes; setns through an fd kept open on the parent's
// uts link brings the child back into the parent's UTS namespace;
// setns's argument errors; after unshare(CLONE_NEWPID|CLONE_NEWTIME) only
// the *_for_children links change, pid_for_children has no target (ENOENT)
// until the namespace's init exists, and setns into the caller's own pid
// namespace undoes the unshare.
//
// Inode numbers are never printed, only compared. The host's hostname is
// never printed and never set: sethostname runs only in the child's own
// new UTS namespace, before it returns to the parent's.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nstest.h"

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

enum { UTS, PID, IPC, NET, MNT, CGROUP, TIME, USER, PID4C, TIME4C, NNS };

static const char *const names[NNS] = {"uts",  "pid",  "ipc",  "net",		   "mnt",
				       "cgroup", "time", "user", "pid_for_children", "time_for_children"};
static const char *const types[NNS] = {"uts", "pid", "ipc", "net", "mnt", "cgroup", "time", "user", "pid", "time"};

typedef char links[NNS][64];

// rdlink reads /proc/<who>/ns/<name> into buf; returns 0 or an errno.
static int rdlink(const char *who, int i, char *buf, size_t size) {
	char path[64];
	snprintf(path, sizeof path, "/proc/%s/ns/%s", who, names[i]);
	ssize_t n = readlink(path, buf, size - 1);
	if (n < 0) {
		buf[0] = 0;
		return errno;
	}
	buf[n] = 0;
	return 0;
}

// format_ok says whether s is "<types[i]>:[<digits>]".
static int format_ok(int i, const char *s) {
	size_t t = strlen(types[i]);
	if (strncmp(s, types[i], t) != 0 || s[t] != ':' || s[t + 1] != '[')
		return 0;
	const char *p = s + t + 2;
	if (*p < '0' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	return p[0] == ']' && p[1] == 0;
}

// readall reads every link of /proc/<who>/ns into l; quiet: report only
// failures.
static void readall(const char *who, links l, int quiet) {
	for (int i = 0; i < NNS; i++) {
		int e = rdlink(who, i, l[i], sizeof l[i]);
		if (e) {
			printf("readlink %s: errno=%s\n", names[i], ename(e));
			bad++;
		} else if (!format_ok(i, l[i])) {
			printf("%s link has a bad format\n", names[i]);
			bad++;
		} else if (!quiet) {
			printf("%s link ok, format ok\n", names[i]);
		}
	}
}

// compare prints, for every link, whether l equals the reference and
// counts mismatches with the expectation (bit i of differ set: the link
// must differ).
static void compare(const char *who, links l, links ref, unsigned differ) {
	for (int i = 0; i < NNS; i++) {
		int same = strcmp(l[i], ref[i]) == 0;
		printf("%s %s: %s\n", who, names[i], same ? "same" : "different");
		if (same == !!(differ & (1u << i)))
			bad++;
	}
}

static pid_t xfork(void) {
	pid_t p = fork();
	if (p < 0) {
		printf("fork failed: %s\n", ename(errno));
		_exit(bad + 100);
	}
	return p;
}

static links plinks;	      // the parent's links
static struct utsname before; // the parent's names

// uts_child: unshare(CLONE_NEWUTS), then setns back into the parent's.
static void uts_child(void) {
	links l;
	char path[64], buf[64];

	readall("self", l, 1);
	compare("child before unshare:", l, plinks, 0);

	snprintf(path, sizeof path, "/proc/%d/ns/uts", (int)getppid());
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		printf("open(/proc/<ppid>/ns/uts): errno=%s\n", ename(errno));
		_exit(bad + 1);
	}
	snprintf(path, sizeof path, "%d", (int)getppid());
	int e = rdlink(path, UTS, buf, sizeof buf);
	expect("/proc/<ppid>/ns/uts is the parent's uts link", e == 0 && strcmp(buf, plinks[UTS]) == 0);

	long r = syscall(SYS_unshare, (long)CLONE_NEWUTS);
	check("child: unshare(NEWUTS)", r, errno, 0);
	if (r != 0)
		_exit(bad); // never touch the host's names
	readall("self", l, 1);
	compare("child after unshare(NEWUTS):", l, plinks, 1u << UTS);
	snprintf(path, sizeof path, "%d", (int)getppid());
	e = rdlink(path, UTS, buf, sizeof buf);
	expect("the parent's uts link did not change", e == 0 && strcmp(buf, plinks[UTS]) == 0);

	r = syscall(SYS_sethostname, "other", 5L);
	check("sethostname(\"other\")", r, errno, 0);
	struct utsname u;
	uname(&u);
	printf("child hostname: %s\n", u.nodename);

	r = syscall(SYS_setns, fd, (long)CLONE_NEWUTS);
	check("setns(parent's uts fd, CLONE_NEWUTS)", r, errno, 0);
	uname(&u);
	expect("back in parent's uts ns", strcmp(u.nodename, before.nodename) == 0);
	readall("self", l, 1);
	compare("child after setns:", l, plinks, 0);
	// From here on the child is in the host's UTS namespace again: no
	// sethostname.
	r = syscall(SYS_setns, fd, 0L);
	check("setns(uts fd, 0)", r, errno, 0);

	printf("-- setns errors\n");
	r = syscall(SYS_setns, fd, (long)CLONE_NEWPID);
	check("setns(uts fd, CLONE_NEWPID)", r, errno, EINVAL);
	r = syscall(SYS_setns, fd, (long)CLONE_NEWNS);
	check("setns(uts fd, CLONE_NEWNS)", r, errno, EINVAL);
	r = syscall(SYS_setns, fd, -1L);
	check("setns(uts fd, -1)", r, errno, EINVAL);
	r = syscall(SYS_setns, -1L, 0L);
	check("setns(-1, 0)", r, errno, EBADF);
	r = syscall(SYS_setns, 1000L, (long)CLONE_NEWUTS);
	check("setns(closed fd 1000, CLONE_NEWUTS)", r, errno, EBADF);
	int pfd[2];
	if (pipe(pfd) != 0) {
		printf("pipe failed\n");
		_exit(bad + 1);
	}
	r = syscall(SYS_setns, pfd[0], 0L);
	check("setns(pipe fd, 0)", r, errno, EINVAL);
	r = syscall(SYS_setns, pfd[1], (long)CLONE_NEWUTS);
	check("setns(pipe fd, CLONE_NEWUTS)", r, errno, EINVAL);
	int sfd = open("/proc/self/status", O_RDONLY);
	r = syscall(SYS_setns, sfd, 0L);
	check("setns(/proc/self/status fd, 0)", r, errno, EINVAL);
	close(sfd);
	close(pfd[0]);
	close(pfd[1]);
	close(fd);
	_exit(bad);
}

// pid_child: unshare(CLONE_NEWPID|CLONE_NEWTIME) changes only the
// *_for_children links.
static void pid_child(void) {
	links l, il;
	char path[64];

	long r = syscall(SYS_unshare, (long)(CLONE_NEWPID | CLONE_NEWTIME));
	check("child: unshare(NEWPID|NEWTIME)", r, errno, 0);
	if (r != 0)
		_exit(bad);
	char buf[64];
	int e = rdlink("self", PID4C, buf, sizeof buf);
	printf("pid_for_children before the first child: %s\n", e ? ename(e) : "readable");
	if (e != ENOENT)
		bad++;
	for (int i = 0; i < NNS; i++) {
		if (i == PID4C)
			continue;
		e = rdlink("self", i, l[i], sizeof l[i]);
		int same = e == 0 && strcmp(l[i], plinks[i]) == 0;
		printf("child after unshare(NEWPID|NEWTIME): %s: %s\n", names[i], e ? ename(e) : same ? "same" : "different");
		if (e || same == (i == TIME4C))
			bad++;
	}

	int pfd[2];
	if (pipe(pfd) != 0) {
		printf("pipe failed\n");
		_exit(bad + 1);
	}
	pid_t p = xfork();
	if (p == 0) {
		// The init of the new pid namespace: wait until told to go.
		char c;
		close(pfd[1]);
		_exit(read(pfd[0], &c, 1) == 0 && getpid() == 1 ? 0 : 1);
	}
	close(pfd[0]);
	readall("self", l, 1);
	compare("child with a live ns init:", l, plinks, 1u << PID4C | 1u << TIME4C);
	expect("pid_for_children differs from pid", strcmp(l[PID4C], l[PID]) != 0);
	expect("time_for_children differs from time", strcmp(l[TIME4C], l[TIME]) != 0);
	snprintf(path, sizeof path, "%d", (int)p);
	readall(path, il, 1);
	expect("ns init's pid link == child's pid_for_children", strcmp(il[PID], l[PID4C]) == 0);
	expect("ns init's pid_for_children == its pid", strcmp(il[PID4C], il[PID]) == 0);
	expect("ns init's time link == child's time_for_children", strcmp(il[TIME], l[TIME4C]) == 0);
	expect("ns init's uts link == child's", strcmp(il[UTS], l[UTS]) == 0);
	close(pfd[1]);
	reap("ns init", p);

	printf("-- setns back into the own pid and time namespaces\n");
	int fd = open("/proc/self/ns/pid", O_RDONLY);
	r = syscall(SYS_setns, fd, (long)CLONE_NEWPID);
	check("setns(own pid ns fd, CLONE_NEWPID)", r, errno, 0);
	close(fd);
	fd = open("/proc/self/ns/time", O_RDONLY);
	r = syscall(SYS_setns, fd, (long)CLONE_NEWTIME);
	check("setns(own time ns fd, CLONE_NEWTIME)", r, errno, 0);
	close(fd);
	readall("self", l, 1);
	compare("child after setns:", l, plinks, 0);
	p = fork();
	if (p < 0) {
		printf("fork after setns: errno=%s\n", ename(errno));
		bad++;
	} else {
		if (p == 0)
			_exit(getppid() > 1 ? 0 : 1);
		reap("fork after setns", p);
	}
	_exit(bad);
}

int main(void) {
	setvbuf(stdout, NULL, _IONBF, 0);
	uname(&before);

	printf("-- the parent's links\n");
	readall("self", plinks, 0);
	expect("parent pid_for_children == pid", strcmp(plinks[PID4C], plinks[PID]) == 0);
	expect("parent time_for_children == time", strcmp(plinks[TIME4C], plinks[TIME]) == 0);
	int distinct = 1;
	for (int i = 0; i < PID4C; i++)
		for (int j = i + 1; j < PID4C; j++)
			if (strcmp(plinks[i], plinks[j]) == 0)
				distinct = 0;
	expect("the eight namespace links are distinct", distinct);

	printf("-- child: unshare(NEWUTS), setns back\n");
	pid_t p = xfork();
	if (p == 0)
		uts_child();
	reap("uts child", p);

	printf("-- child: unshare(NEWPID|NEWTIME)\n");
	p = xfork();
	if (p == 0)
		pid_child();
	reap("pid child", p);

	struct utsname after;
	uname(&after);
	expect("parent hostname unchanged", strcmp(before.nodename, after.nodename) == 0);
	links l;
	readall("self", l, 1);
	compare("parent at the end:", l, plinks, 0);
	printf("unexpected results: %d\n", bad);
	return 0;
}
