// clone_flags: clone and clone3 argument validation (spec 1.1, 1.2, 1.3.1,
// checklist items 1-4, 6, 8, 9) and a few successful calls, all through
// raw syscalls. Only cases whose result does not depend on privileges or
// namespaces are included.
//
// The error cases go through clone_exit/clone3_exit: should one of them
// unexpectedly succeed, the child leaves at once with a raw exit(0) without
// touching memory (it may share the parent's stack), and the parent reports
// it and reaps it, so the output stays deterministic.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CLONE_VM 0x00000100ull
#define CLONE_FS 0x00000200ull
#define CLONE_SIGHAND 0x00000800ull
#define CLONE_PIDFD 0x00001000ull
#define CLONE_PARENT 0x00008000ull
#define CLONE_THREAD 0x00010000ull
#define CLONE_NEWNS 0x00020000ull
#define CLONE_PARENT_SETTID 0x00100000ull
#define CLONE_DETACHED 0x00400000ull
#define CLONE_CHILD_SETTID 0x01000000ull
#define CLONE_NEWUSER 0x10000000ull
#define CLONE_NEWPID 0x20000000ull
#define CLONE_CLEAR_SIGHAND (1ull << 32)
#define CLONE_INTO_CGROUP (1ull << 33)
#ifndef __WCLONE
#define __WCLONE 0x80000000
#endif
#ifndef __WALL
#define __WALL 0x40000000
#endif

// struct clone_args (VER2, 88 bytes) plus room for a tail beyond it.
struct args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	uint64_t set_tid, set_tid_size, cgroup;
	uint64_t tail[2];
};

static const char *yesno(int b) { return b ? "yes" : "no"; }

static const char *ename(int e) {
	const char *n = strerrorname_np(e);
	return n ? n : "?";
}

static long clone_exit(uint64_t flags, uint64_t sp, void *ptid, void *ctid, uint64_t tls) {
	register uint64_t r10 __asm__("r10") = (uint64_t)(uintptr_t)ctid;
	register uint64_t r8 __asm__("r8") = tls;
	long ret;
	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "mov $60, %%eax\n\t"
			 "xor %%edi, %%edi\n\t"
			 "syscall\n"
			 "1:"
			 : "=a"(ret)
			 : "0"(56L), "D"(flags), "S"(sp), "d"(ptid), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	return ret;
}

static long clone3_exit(void *args, uint64_t size) {
	long ret;
	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "mov $60, %%eax\n\t"
			 "xor %%edi, %%edi\n\t"
			 "syscall\n"
			 "1:"
			 : "=a"(ret)
			 : "0"(435L), "D"(args), "S"(size)
			 : "rcx", "r11", "memory");
	return ret;
}

static int unexpected;

static void show(const char *name, long ret) {
	if (ret < 0) {
		printf("%s: errno=%s\n", name, ename((int)-ret));
		return;
	}
	unexpected++;
	int st = 0;
	pid_t w = waitpid((pid_t)ret, &st, __WALL);
	printf("%s: UNEXPECTED SUCCESS (child reaped: %s, status %#x)\n", name, yesno(w == ret), st);
}

static struct args a;

static void reset(void) { memset(&a, 0, sizeof a); }

static void wait_child(const char *name, long pid, int options) {
	int st;
	pid_t w = waitpid((pid_t)pid, &st, options);
	if (w < 0) {
		printf("%s: waitpid failed: %s\n", name, ename(errno));
		return;
	}
	printf("%s: waitpid == returned pid: %s, ", name, yesno(w == pid));
	if (WIFEXITED(st))
		printf("exit status %d\n", WEXITSTATUS(st));
	else
		printf("status %#x\n", st);
}

static void handler(int sig) { (void)sig; }

int main(void) {
	int ptid = 0, ctid = 0, pidfd = -1;

	printf("-- legacy clone, early flag checks\n");
	show("V1 clone(NEWNS|FS)", clone_exit(CLONE_NEWNS | CLONE_FS | SIGCHLD, 0, 0, 0, 0));
	show("V2 clone(NEWUSER|FS)", clone_exit(CLONE_NEWUSER | CLONE_FS | SIGCHLD, 0, 0, 0, 0));
	show("V3 clone(THREAD)", clone_exit(CLONE_THREAD, 0, 0, 0, 0));
	show("V3 clone(THREAD|VM)", clone_exit(CLONE_THREAD | CLONE_VM, 0, 0, 0, 0));
	show("V4 clone(SIGHAND)", clone_exit(CLONE_SIGHAND | SIGCHLD, 0, 0, 0, 0));
	show("V6 clone(THREAD|SIGHAND|VM|NEWPID)",
	     clone_exit(CLONE_THREAD | CLONE_SIGHAND | CLONE_VM | CLONE_NEWPID, 0, 0, 0, 0));
	show("V6 clone(THREAD|SIGHAND|VM|NEWUSER)",
	     clone_exit(CLONE_THREAD | CLONE_SIGHAND | CLONE_VM | CLONE_NEWUSER, 0, 0, 0, 0));
	show("clone(PIDFD|PARENT_SETTID)", clone_exit(CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD, 0, &ptid, 0, 0));
	show("V7 clone(PIDFD|DETACHED)", clone_exit(CLONE_PIDFD | CLONE_DETACHED | SIGCHLD, 0, &pidfd, 0, 0));

	printf("-- clone3 argument checks\n");
	reset();
	a.exit_signal = SIGCHLD;
	show("clone3 size 0", clone3_exit(&a, 0));
	show("clone3 size 63", clone3_exit(&a, 63));
	show("clone3 size 4097", clone3_exit(&a, 4097));
	show("clone3 size 4097, args NULL (size checked first)", clone3_exit(NULL, 4097));
	show("clone3 args NULL, size 64", clone3_exit(NULL, 64));
	a.tail[0] = 1;
	show("clone3 size 96, non-zero tail", clone3_exit(&a, 96));
	a.exit_signal = 65;
	show("clone3 size 96, non-zero tail, exit_signal 65 (tail checked first)", clone3_exit(&a, 96));
	reset();
	a.exit_signal = SIGCHLD;
	a.set_tid_size = 33;
	show("clone3 set_tid_size 33", clone3_exit(&a, 88));
	a.set_tid_size = 1;
	show("clone3 set_tid NULL, set_tid_size 1", clone3_exit(&a, 88));
	pid_t tids[1] = {0};
	a.set_tid = (uintptr_t)tids;
	a.set_tid_size = 0;
	show("clone3 set_tid set, set_tid_size 0", clone3_exit(&a, 88));
	reset();
	a.exit_signal = 65;
	show("clone3 exit_signal 65", clone3_exit(&a, 64));
	a.exit_signal = 0x100 | SIGCHLD;
	show("clone3 exit_signal 0x111", clone3_exit(&a, 64));
	reset();
	a.exit_signal = SIGCHLD;
	a.flags = CLONE_INTO_CGROUP;
	show("clone3 INTO_CGROUP with size 64", clone3_exit(&a, 64));
	a.flags = 1ull << 40;
	show("clone3 flags bit 40", clone3_exit(&a, 64));
	a.flags = SIGCHLD;
	show("clone3 CSIGNAL bits in flags", clone3_exit(&a, 64));
	a.flags = CLONE_DETACHED;
	show("clone3 DETACHED", clone3_exit(&a, 64));
	a.flags = CLONE_SIGHAND | CLONE_VM | CLONE_CLEAR_SIGHAND;
	show("clone3 SIGHAND|VM|CLEAR_SIGHAND", clone3_exit(&a, 64));
	a.flags = CLONE_THREAD | CLONE_SIGHAND | CLONE_VM;
	show("clone3 THREAD|SIGHAND|VM with exit_signal", clone3_exit(&a, 64));
	a.flags = CLONE_PARENT;
	show("clone3 PARENT with exit_signal", clone3_exit(&a, 64));
	a.flags = 0;
	a.stack = (uintptr_t)&a;
	show("clone3 stack set, stack_size 0", clone3_exit(&a, 64));
	a.stack = 0;
	a.stack_size = 4096;
	show("clone3 stack 0, stack_size 4096", clone3_exit(&a, 64));
	a.stack_size = 0;
	a.flags = CLONE_NEWNS | CLONE_FS;
	show("V1 clone3(NEWNS|FS)", clone3_exit(&a, 64));
	a.flags = CLONE_THREAD;
	a.exit_signal = 0;
	show("V3 clone3(THREAD)", clone3_exit(&a, 64));
	a.flags = CLONE_SIGHAND;
	a.exit_signal = SIGCHLD;
	show("V4 clone3(SIGHAND)", clone3_exit(&a, 64));
	a.flags = CLONE_PIDFD | CLONE_PARENT_SETTID;
	a.pidfd = a.parent_tid = (uintptr_t)&pidfd;
	show("clone3 PIDFD|PARENT_SETTID, same pointer", clone3_exit(&a, 64));
	a.flags = CLONE_PIDFD;
	a.pidfd = 8; // unmapped
	a.parent_tid = 0;
	show("clone3 PIDFD, bad pidfd pointer", clone3_exit(&a, 64));
	errno = 0;
	int st;
	pid_t w = waitpid(-1, &st, WNOHANG | __WALL);
	printf("no child left behind by the failed calls: %s\n", yesno(w == -1 && errno == ECHILD));

	printf("-- successful calls\n");
	fflush(stdout);
	long pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (pid == 0)
		_exit(4);
	wait_child("clone(SIGCHLD)", pid, 0);

	fflush(stdout);
	pid = syscall(SYS_clone, (1ull << 40) | SIGCHLD, 0, 0, 0, 0);
	if (pid == 0)
		_exit(8);
	wait_child("clone(SIGCHLD | bit 40): high bits ignored", pid, 0);

	reset();
	a.exit_signal = SIGCHLD;
	fflush(stdout);
	pid = syscall(SYS_clone3, &a, 64);
	if (pid == 0)
		_exit(3);
	wait_child("clone3 size 64", pid, 0);

	fflush(stdout);
	pid = syscall(SYS_clone3, &a, 96); // zero tail beyond the kernel's struct
	if (pid == 0)
		_exit(5);
	wait_child("clone3 size 96, zero tail", pid, 0);

	// PARENT_SETTID and CHILD_SETTID: the parent's ptid and the child's
	// ctid get the child's tid; the other copies stay untouched.
	ptid = ctid = 0;
	fflush(stdout);
	pid = syscall(SYS_clone, CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | SIGCHLD, 0, &ptid, &ctid, 0);
	if (pid == 0)
		_exit((ctid == gettid() ? 0 : 1) | (ptid == 0 ? 0 : 2));
	printf("clone(PARENT_SETTID|CHILD_SETTID): ptid == returned pid: %s, parent's ctid untouched: %s\n",
	       yesno(ptid == pid), yesno(ctid == 0));
	wait_child("  (child: 0 = its ctid == gettid() and its ptid untouched)", pid, 0);

	ptid = ctid = 0;
	reset();
	a.flags = CLONE_PARENT_SETTID | CLONE_CHILD_SETTID;
	a.parent_tid = (uintptr_t)&ptid;
	a.child_tid = (uintptr_t)&ctid;
	a.exit_signal = SIGCHLD;
	fflush(stdout);
	pid = syscall(SYS_clone3, &a, 64);
	if (pid == 0)
		_exit((ctid == gettid() ? 0 : 1) | (ptid == 0 ? 0 : 2));
	printf("clone3(PARENT_SETTID|CHILD_SETTID): ptid == returned pid: %s, parent's ctid untouched: %s\n",
	       yesno(ptid == pid), yesno(ctid == 0));
	wait_child("  (child: 0 = its ctid == gettid() and its ptid untouched)", pid, 0);

	// exit_signal 0: a "clone child", invisible to waitpid without __WCLONE.
	fflush(stdout);
	pid = syscall(SYS_clone, 0, 0, 0, 0, 0);
	if (pid == 0)
		_exit(6);
	errno = 0;
	w = waitpid((pid_t)pid, &st, 0);
	printf("clone(exit_signal 0): plain waitpid: %d %s\n", (int)w, ename(errno));
	errno = 0;
	w = waitpid(-1, &st, WNOHANG);
	printf("clone(exit_signal 0): plain waitpid(-1, WNOHANG): %d %s\n", (int)w, ename(errno));
	wait_child("clone(exit_signal 0): waitpid __WCLONE", pid, __WCLONE);

	fflush(stdout);
	pid = syscall(SYS_clone, 0, 0, 0, 0, 0);
	if (pid == 0)
		_exit(2);
	wait_child("clone(exit_signal 0): waitpid __WALL", pid, __WALL);

	// CLONE_CLEAR_SIGHAND resets handled signals to SIG_DFL, keeps SIG_IGN.
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGUSR2, SIG_IGN);
	for (int clear = 0; clear < 2; clear++) {
		reset();
		a.flags = clear ? CLONE_CLEAR_SIGHAND : 0;
		a.exit_signal = SIGCHLD;
		fflush(stdout);
		pid = syscall(SYS_clone3, &a, 64);
		if (pid == 0) {
			struct sigaction o1, o2;
			sigaction(SIGUSR1, NULL, &o1);
			sigaction(SIGUSR2, NULL, &o2);
			int c1 = o1.sa_handler == handler ? 1 : o1.sa_handler == SIG_DFL ? 2 : 3;
			int c2 = o2.sa_handler == SIG_IGN ? 1 : o2.sa_handler == SIG_DFL ? 2 : 3;
			_exit(c1 * 10 + c2);
		}
		wait_child(clear ? "clone3 CLEAR_SIGHAND (21 = USR1 default, USR2 ignored)"
				 : "clone3 without CLEAR_SIGHAND (11 = USR1 handled, USR2 ignored)",
			   pid, 0);
	}

	errno = 0;
	w = waitpid(-1, &st, __WALL);
	printf("all children reaped: %s\n", yesno(w == -1 && errno == ECHILD));
	printf("unexpected successes: %d\n", unexpected);
	return unexpected ? 1 : 0;
}
