// ns_pid: PID namespaces through unshare(CLONE_NEWPID) (spec 2.4, 3.1,
// checklist items 7 and 15): the caller keeps its pid; a second unshare
// and thread creation fail with EINVAL; the next fork becomes pid 1 of
// the new namespace with getppid() == 0 (and pgid/sid 0 until setsid);
// its own child is pid 2; the outer view of the namespace init is an
// ordinary pid; once the init has exited, fork into the dead namespace
// fails with ENOMEM (selftest pid_namespace/regression_enomem).
//
// Only namespace-relative pids (1, 2, 0) are printed, never host pids.
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nstest.h"

// clone_exit is a raw clone whose child (should one be created) leaves at
// once with a raw exit(0), without touching memory.
static long clone_exit(uint64_t flags, uint64_t sp) {
	register uint64_t r10 __asm__("r10") = 0;
	register uint64_t r8 __asm__("r8") = 0;
	long ret;
	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "mov $60, %%eax\n\t"
			 "xor %%edi, %%edi\n\t"
			 "syscall\n"
			 "1:"
			 : "=a"(ret)
			 : "0"(56L), "D"(flags), "S"(sp), "d"(0L), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	return ret;
}

static void try_clone_fails(const char *name, uint64_t flags, uint64_t sp, int want) {
	long r = clone_exit(flags, sp);
	if (r > 0) {
		printf("%s: UNEXPECTED SUCCESS\n", name);
		bad++;
		if (!(flags & CLONE_THREAD))
			waitpid((pid_t)r, NULL, __WALL);
		return;
	}
	printf("%s: errno=%s\n", name, ename((int)-r));
	if (-r != want)
		bad++;
}

static void reap_status(const char *what, pid_t pid, int want_status) {
	int st = 0;
	pid_t w = waitpid(pid, &st, 0);
	printf("%s: waitpid returned the child: %s, ", what, yesno(w == pid));
	if (w == pid && WIFEXITED(st)) {
		printf("exit status %d\n", WEXITSTATUS(st));
		if (WEXITSTATUS(st) != want_status)
			bad++;
	} else {
		printf("status %#x\n", st);
		bad++;
	}
}

static char stack[16384] __attribute__((aligned(16)));

// great_grandchild: the second process of the namespace.
static void great_grandchild(void) {
	expect("great-grandchild getpid() == 2", getpid() == 2);
	expect("great-grandchild getppid() == 1", getppid() == 1);
	_exit(bad ? 50 + bad : 7);
}

// grandchild: pid 1 of the new namespace.
static void grandchild(void) {
	expect("grandchild (ns init) getpid() == 1", getpid() == 1);
	expect("grandchild getppid() == 0", getppid() == 0);
	expect("grandchild getpgid(0) == 0 and getsid(0) == 0", getpgid(0) == 0 && getsid(0) == 0);
	pid_t s = setsid();
	expect("grandchild setsid() == 1, then getpgid(0) == 1 and getsid(0) == 1",
	       s == 1 && getpgid(0) == 1 && getsid(0) == 1);
	pid_t p = fork();
	if (p < 0) {
		printf("fork in the ns init failed: %s\n", ename(errno));
		_exit(99);
	}
	if (p == 0)
		great_grandchild();
	int st = 0;
	pid_t w = waitpid(-1, &st, 0);
	expect("ns init: fork returned 2", p == 2);
	printf("ns init: waitpid(-1) returned 2: %s, exit status %d\n", yesno(w == 2),
	       WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	if (w != 2 || !WIFEXITED(st) || WEXITSTATUS(st) != 7)
		bad++;
	w = waitpid(-1, &st, 0);
	printf("ns init: no more children: errno=%s\n", w < 0 ? ename(errno) : "none");
	if (w >= 0 || errno != ECHILD)
		bad++;
	_exit(bad ? 50 + bad : 3);
}

static void child(void) {
	pid_t me = getpid(), parent = getppid();
	long r = syscall(SYS_unshare, (long)CLONE_NEWPID);
	check("child: unshare(NEWPID)", r, errno, 0);
	if (r != 0)
		_exit(bad);
	expect("getpid unchanged after unshare", getpid() == me);
	expect("getppid unchanged after unshare", getppid() == parent);
	r = syscall(SYS_unshare, (long)CLONE_NEWPID);
	check("second unshare(NEWPID)", r, errno, EINVAL);
	try_clone_fails("clone(THREAD|SIGHAND|VM) after unshare(NEWPID)",
			CLONE_THREAD | CLONE_SIGHAND | CLONE_VM, (uint64_t)(uintptr_t)(stack + sizeof stack), EINVAL);
	try_clone_fails("clone(NEWPID|SIGCHLD) after unshare(NEWPID)", CLONE_NEWPID | SIGCHLD, 0, EINVAL);
	r = syscall(SYS_unshare, (long)CLONE_NEWUTS);
	check("unshare(NEWUTS) after unshare(NEWPID)", r, errno, 0);

	printf("-- first fork: the namespace init\n");
	pid_t p = fork();
	if (p < 0) {
		printf("fork failed: %s\n", ename(errno));
		_exit(bad + 1);
	}
	if (p == 0)
		grandchild();
	reap_status("child: ns init", p, 3);
	expect("outer view of ns init is not 1", p != 1);
	expect("outer view of ns init is not the child's own pid", p != me);
	expect("child's getpid still unchanged", getpid() == me);

	printf("-- fork after the ns init exited\n");
	p = fork();
	if (p == 0)
		_exit(0);
	if (p > 0) {
		printf("fork into the dead namespace: UNEXPECTED SUCCESS\n");
		waitpid(p, NULL, 0);
		bad++;
	} else {
		printf("fork into the dead namespace: errno=%s\n", ename(errno));
		if (errno != ENOMEM)
			bad++;
	}
	r = syscall(SYS_clone, (long)SIGCHLD, 0L, 0L, 0L, 0L);
	if (r == 0)
		_exit(0);
	if (r > 0) {
		printf("clone(SIGCHLD) into the dead namespace: UNEXPECTED SUCCESS\n");
		waitpid((pid_t)r, NULL, 0);
		bad++;
	} else {
		printf("clone(SIGCHLD) into the dead namespace: errno=%s\n", ename(errno));
		if (errno != ENOMEM)
			bad++;
	}
	_exit(bad);
}

int main(void) {
	setvbuf(stdout, NULL, _IONBF, 0);
	pid_t p = fork();
	if (p < 0) {
		printf("fork failed: %s\n", ename(errno));
		return 100;
	}
	if (p == 0)
		child();
	int st = 0;
	pid_t w = waitpid(p, &st, 0);
	if (w != p || !WIFEXITED(st)) {
		printf("child: waitpid %s, status %#x\n", w == p ? "ok" : "failed", st);
		bad++;
	} else {
		printf("child: exit status %d\n", WEXITSTATUS(st));
		bad += WEXITSTATUS(st);
	}
	printf("unexpected results: %d\n", bad);
	return 0;
}
