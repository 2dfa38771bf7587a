// ns_user: user namespaces for an unprivileged process (spec 2.4, 2.7,
// checklist items 10 and 11): after dropping to nobody/nogroup a child
// cannot create a UTS namespace, but it can create a user namespace, in
// which it has the capabilities to create a UTS namespace and set its
// hostname; inside the new user namespace its ids read as the overflow id
// 65534 until uid_map/gid_map are written ("deny" to setgroups first),
// then as 0. A second unprivileged child creates a user and a pid
// namespace in one clone(CLONE_NEWUSER|CLONE_NEWPID).
//
// The host must allow unprivileged user namespaces: when
// /proc/sys/user/max_user_namespaces is 0, or
// /proc/sys/kernel/unprivileged_userns_clone exists and is 0, the program
// prints a "skipped" line and "unexpected results: 0" instead.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nstest.h"

// readint reads a decimal number from a file; -1 if it cannot.
static long readint(const char *path) {
	char buf[32];
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

// writefile writes s to path in one write; returns 0 or an errno.
static int writefile(const char *path, const char *s) {
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return errno;
	ssize_t n = write(fd, s, strlen(s));
	int e = n < 0 ? errno : n == (ssize_t)strlen(s) ? 0 : EIO;
	close(fd);
	return e;
}

// readfile reads up to size-1 bytes of path into buf; returns the length
// or -errno.
static long readfile(const char *path, char *buf, size_t size) {
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, size - 1);
	int e = errno;
	close(fd);
	if (n < 0)
		return -e;
	buf[n] = 0;
	return n;
}

static void drop(void) {
	if (setgroups(0, NULL) != 0 || setresgid(65534, 65534, 65534) != 0 ||
	    setresuid(65534, 65534, 65534) != 0) {
		printf("cannot drop privileges: %s\n", ename(errno));
		_exit(bad + 1);
	}
	// Changing the uids made the process non-dumpable, which would leave
	// its /proc/self files owned by root.
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0) {
		printf("prctl(PR_SET_DUMPABLE): %s\n", ename(errno));
		bad++;
	}
	printf("dropped privileges: uid=%d euid=%d gid=%d egid=%d\n", (int)getuid(), (int)geteuid(),
	       (int)getgid(), (int)getegid());
}

static void user_child(void) {
	drop();
	long r = syscall(SYS_unshare, (long)CLONE_NEWUTS);
	check("unprivileged unshare(NEWUTS)", r, errno, EPERM);
	if (r == 0)
		_exit(bad); // never touch the host's names

	r = syscall(SYS_unshare, (long)CLONE_NEWUSER);
	check("unshare(NEWUSER)", r, errno, 0);
	if (r != 0)
		_exit(bad);
	printf("in the new user ns without maps: uid=%d euid=%d gid=%d egid=%d\n", (int)getuid(),
	       (int)geteuid(), (int)getgid(), (int)getegid());
	if (getuid() != 65534 || getgid() != 65534)
		bad++;
	char buf[256];
	long n = readfile("/proc/self/uid_map", buf, sizeof buf);
	printf("uid_map before writing: %s\n", n < 0 ? ename((int)-n) : n == 0 ? "empty" : "not empty");
	if (n != 0)
		bad++;
	n = readfile("/proc/self/setgroups", buf, sizeof buf);
	printf("setgroups: %s", n < 0 ? ename((int)-n) : buf);
	if (n < 0)
		printf("\n");

	r = syscall(SYS_unshare, (long)CLONE_NEWUTS);
	check("unshare(NEWUTS) in the new user ns", r, errno, 0);
	if (r != 0)
		_exit(bad);
	r = syscall(SYS_sethostname, "userns-host", 11L);
	check("sethostname(\"userns-host\")", r, errno, 0);
	struct utsname u;
	uname(&u);
	printf("hostname: %s\n", u.nodename);
	if (strcmp(u.nodename, "userns-host") != 0)
		bad++;

	int e = writefile("/proc/self/gid_map", "0 65534 1");
	check("write gid_map before setgroups deny", e ? -1 : 0, e, EPERM);
	e = writefile("/proc/self/setgroups", "deny");
	check("write \"deny\" to setgroups", e ? -1 : 0, e, 0);
	n = readfile("/proc/self/setgroups", buf, sizeof buf);
	printf("setgroups: %s", n < 0 ? ename((int)-n) : buf);
	if (n < 0)
		printf("\n");
	e = writefile("/proc/self/gid_map", "0 65534 1");
	check("write \"0 65534 1\" to gid_map", e ? -1 : 0, e, 0);
	e = writefile("/proc/self/uid_map", "0 65534 1");
	check("write \"0 65534 1\" to uid_map", e ? -1 : 0, e, 0);
	e = writefile("/proc/self/uid_map", "0 65534 1");
	check("write uid_map a second time", e ? -1 : 0, e, EPERM);
	printf("after the maps: uid=%d euid=%d gid=%d egid=%d\n", (int)getuid(), (int)geteuid(), (int)getgid(),
	       (int)getegid());
	if (getuid() != 0 || geteuid() != 0 || getgid() != 0 || getegid() != 0)
		bad++;
	n = readfile("/proc/self/uid_map", buf, sizeof buf);
	printf("uid_map: %s", n < 0 ? ename((int)-n) : buf);
	if (n < 0)
		printf("\n");
	n = readfile("/proc/self/gid_map", buf, sizeof buf);
	printf("gid_map: %s", n < 0 ? ename((int)-n) : buf);
	if (n < 0)
		printf("\n");
	r = syscall(SYS_unshare, (long)CLONE_NEWUSER);
	check("unshare(NEWUSER) again (nested)", r, errno, 0);
	printf("in the nested user ns: uid=%d gid=%d\n", (int)getuid(), (int)getgid());
	_exit(bad);
}

// clone_child: clone(CLONE_NEWUSER|CLONE_NEWPID) without privilege; the
// pid namespace is owned by the new user namespace.
static void clone_child(void) {
	drop();
	long r = syscall(SYS_clone, (long)(CLONE_NEWPID | SIGCHLD), 0L, 0L, 0L, 0L);
	if (r == 0)
		_exit(0);
	if (r > 0) {
		waitpid((pid_t)r, NULL, 0);
		printf("unprivileged clone(NEWPID): UNEXPECTED SUCCESS\n");
		bad++;
	} else {
		check("unprivileged clone(NEWPID)", r, errno, EPERM);
	}
	r = syscall(SYS_clone, (long)(CLONE_NEWUSER | CLONE_NEWPID | SIGCHLD), 0L, 0L, 0L, 0L);
	if (r < 0) {
		check("clone(NEWUSER|NEWPID)", r, errno, 0);
		_exit(bad);
	}
	if (r == 0) {
		expect("clone(NEWUSER|NEWPID) child: getpid() == 1 and getppid() == 0", getpid() == 1 && getppid() == 0);
		expect("clone(NEWUSER|NEWPID) child: uid and gid are 65534", getuid() == 65534 && getgid() == 65534);
		r = syscall(SYS_unshare, (long)CLONE_NEWUTS);
		check("clone(NEWUSER|NEWPID) child: unshare(NEWUTS)", r, errno, 0);
		_exit(bad);
	}
	reap("clone(NEWUSER|NEWPID) child", (pid_t)r);
	_exit(bad);
}

int main(void) {
	setvbuf(stdout, NULL, _IONBF, 0);
	long max = readint("/proc/sys/user/max_user_namespaces");
	long clone_ok = readint("/proc/sys/kernel/unprivileged_userns_clone");
	if (max == 0 || clone_ok == 0) {
		printf("skipped: unprivileged user namespaces are disabled on this host\n");
		printf("unexpected results: 0\n");
		return 0;
	}

	printf("-- unshare(NEWUSER) then NEWUTS\n");
	in_child("user child", user_child);

	printf("-- clone(NEWUSER|NEWPID)\n");
	in_child("clone child", clone_child);

	printf("unexpected results: %d\n", bad);
	return 0;
}
