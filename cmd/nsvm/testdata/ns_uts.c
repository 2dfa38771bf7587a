// ns_uts: UTS namespaces (spec 2.3, 3.2, checklist item 12): a child
// unshares its UTS namespace and sets a hostname and domainname there;
// the names are shared with a plain fork child (same namespace), copied
// into a CLONE_NEWUTS grandchild's new namespace and private to it, and
// the test's own namespace (the host's) never changes. sethostname and
// setdomainname argument errors are checked inside the new namespace.
//
// The host's names are never printed, only compared, and are never set:
// every sethostname/setdomainname runs only after unshare(CLONE_NEWUTS)
// succeeded in that process or in a CLONE_NEWUTS child.
#define _GNU_SOURCE
#include <errno.h>
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

static void xuname(struct utsname *u) {
	memset(u, 0xa5, sizeof *u);
	if (syscall(SYS_uname, u) != 0) {
		printf("uname failed: %s\n", ename(errno));
		_exit(bad + 50);
	}
}

// zero_tail says whether every byte after the string's NUL is zero.
static int zero_tail(const char *f, size_t size) {
	size_t n = strnlen(f, size);
	if (n == size)
		return 0;
	for (size_t i = n; i < size; i++)
		if (f[i] != 0)
			return 0;
	return 1;
}

static void show(const char *who) {
	struct utsname u;
	xuname(&u);
	printf("%s: nodename=%s domainname=%s (zero-filled: %s)\n", who, u.nodename, u.domainname,
	       yesno(zero_tail(u.nodename, sizeof u.nodename) && zero_tail(u.domainname, sizeof u.domainname)));
}

static int expect_name(const char *who, const char *want) {
	struct utsname u;
	xuname(&u);
	int ok = strcmp(u.nodename, want) == 0;
	printf("%s sees hostname %s: %s\n", who, want, yesno(ok));
	if (!ok)
		bad++;
	return ok;
}

static void sethost(const char *name, long len) {
	char what[96];
	snprintf(what, sizeof what, "sethostname(\"%s\", %ld)", name, len);
	long r = syscall(SYS_sethostname, name, len);
	check(what, r, errno, 0);
}

// child runs in its own UTS namespace once unshare succeeded.
static void child(const struct utsname *before) {
	long r = syscall(SYS_unshare, (long)CLONE_NEWUTS);
	check("child: unshare(NEWUTS)", r, errno, 0);
	if (r != 0)
		_exit(bad); // never touch the host's names
	struct utsname u;
	xuname(&u);
	printf("child: new namespace starts with the parent's names: %s\n",
	       yesno(strcmp(u.nodename, before->nodename) == 0 && strcmp(u.domainname, before->domainname) == 0 &&
		     strcmp(u.sysname, before->sysname) == 0 && strcmp(u.release, before->release) == 0));

	sethost("nsvm-child-with-a-longer-name", 29);
	sethost("nsvm-child", 10);
	r = syscall(SYS_setdomainname, "nsvm-dom", 8L);
	check("setdomainname(\"nsvm-dom\", 8)", r, errno, 0);
	show("child after sethostname/setdomainname");
	// Exactly len bytes are stored, without a NUL.
	sethost("nsvm-childXYZ", 10);
	expect_name("child after sethostname(\"nsvm-childXYZ\", 10)", "nsvm-child");

	printf("-- argument errors\n");
	char name64[65];
	memset(name64, 'h', 64);
	name64[64] = 0;
	r = syscall(SYS_sethostname, "bad", -1L);
	check("sethostname len -1", r, errno, EINVAL);
	r = syscall(SYS_sethostname, name64, 65L);
	check("sethostname len 65", r, errno, EINVAL);
	r = syscall(SYS_sethostname, NULL, 64L);
	check("sethostname NULL len 64", r, errno, EFAULT);
	r = syscall(SYS_setdomainname, "bad", -1L);
	check("setdomainname len -1", r, errno, EINVAL);
	r = syscall(SYS_setdomainname, name64, 65L);
	check("setdomainname len 65", r, errno, EINVAL);
	r = syscall(SYS_setdomainname, NULL, 64L);
	check("setdomainname NULL len 64", r, errno, EFAULT);
	show("child after the failed calls");
	r = syscall(SYS_sethostname, name64, 64L);
	check("sethostname len 64", r, errno, 0);
	xuname(&u);
	printf("64-byte hostname stored whole: %s\n", yesno(strcmp(u.nodename, name64) == 0));
	r = syscall(SYS_sethostname, "", 0L);
	check("sethostname len 0", r, errno, 0);
	xuname(&u);
	printf("empty hostname: %s\n", yesno(u.nodename[0] == 0 && zero_tail(u.nodename, sizeof u.nodename)));
	sethost("nsvm-child", 10);

	printf("-- a fork child shares the namespace\n");
	pid_t p = fork();
	if (p < 0) {
		printf("fork failed: %s\n", ename(errno));
		_exit(bad + 1);
	}
	if (p == 0) {
		expect_name("fork child", "nsvm-child");
		sethost("nsvm-shared", 11);
		_exit(bad);
	}
	reap("fork child", p);
	expect_name("child after its fork child's sethostname", "nsvm-shared");
	sethost("nsvm-child", 10);

	printf("-- a CLONE_NEWUTS grandchild gets a copy\n");
	r = syscall(SYS_clone, (long)(CLONE_NEWUTS | SIGCHLD), 0L, 0L, 0L, 0L);
	if (r < 0) {
		printf("clone(NEWUTS) failed: %s\n", ename(errno));
		_exit(bad + 1);
	}
	if (r == 0) {
		expect_name("grandchild", "nsvm-child");
		show("grandchild");
		sethost("nsvm-grand", 10);
		expect_name("grandchild", "nsvm-grand");
		_exit(bad);
	}
	reap("grandchild", (pid_t)r);
	expect_name("child after the grandchild's sethostname", "nsvm-child");
	show("child at the end");
	_exit(bad);
}

int main(void) {
	setvbuf(stdout, NULL, _IONBF, 0);
	struct utsname before, after;
	xuname(&before);

	pid_t p = fork();
	if (p < 0) {
		printf("fork failed: %s\n", ename(errno));
		return 100;
	}
	if (p == 0)
		child(&before);
	reap("child", p);

	xuname(&after);
	int same = strcmp(before.nodename, after.nodename) == 0;
	printf("parent hostname unchanged: %s\n", yesno(same));
	int dsame = strcmp(before.domainname, after.domainname) == 0;
	printf("parent domainname unchanged: %s\n", yesno(dsame));
	if (!same || !dsame)
		bad++;
	printf("unexpected results: %d\n", bad);
	return 0;
}
