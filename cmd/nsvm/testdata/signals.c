// signals: delivery to handlers. Handlers for raise/kill/tkill with their
// siginfo; a blocked signal that is delivered when unblocked; SIGCHLD
// handlers counting children; a SIGSEGV handler that recovers with
// siglongjmp and sees the faulting address; SA_RESETHAND; the FPU and
// the mask restored after a handler; a sleeping read interrupted (EINTR)
// and restarted (SA_RESTART); a handler on a sigaltstack; abort() with a
// SIGABRT handler that returns.
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t hits, lastsig, lastcode, chld;
static volatile pid_t lastpid;
static volatile void *lastaddr;
static sigjmp_buf jb;
static char altstack[65536];
static volatile int onalt;

static void on_info(int sig, siginfo_t *si, void *uc) {
	(void)uc;
	hits++;
	lastsig = sig;
	lastcode = si->si_code;
	lastpid = si->si_pid;
}

static void on_chld(int sig) {
	(void)sig;
	chld++;
}

static void on_segv(int sig, siginfo_t *si, void *uc) {
	(void)sig, (void)uc;
	lastaddr = si->si_addr;
	siglongjmp(jb, 1);
}

static void on_alt(int sig) {
	char here;
	(void)sig;
	onalt = &here >= altstack && &here < altstack + sizeof altstack;
}

static void clobber_fpu(int sig) {
	(void)sig;
	volatile double x = 1.0;
	for (int i = 0; i < 10; i++)
		x = x * 3.5 + 1;
	__asm__ volatile("pxor %%xmm7, %%xmm7" ::: "xmm7");
	hits++;
}

static void on_usr2(int sig) { (void)sig; hits++; }

static void on_abrt(int sig) {
	(void)sig;
	printf("SIGABRT handler ran\n");
	fflush(stdout);
}

int main(void) {
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_info;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &sa, NULL);

	raise(SIGUSR1);
	printf("raise: hits %d sig %d code %s pid is mine %s\n", hits, lastsig,
	       lastcode == SI_TKILL ? "SI_TKILL" : "other", lastpid == getpid() ? "yes" : "no");
	kill(getpid(), SIGUSR1);
	printf("kill: hits %d code %s\n", hits, lastcode == SI_USER ? "SI_USER" : "other");

	// Blocked, pending, then delivered when unblocked.
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, &old);
	kill(getpid(), SIGUSR1);
	sigset_t pend;
	sigpending(&pend);
	printf("blocked: hits %d, pending %d\n", hits, sigismember(&pend, SIGUSR1));
	sigprocmask(SIG_SETMASK, &old, NULL);
	printf("unblocked: hits %d\n", hits);

	// The mask inside a handler, restored after it.
	sigprocmask(SIG_SETMASK, NULL, &old);
	printf("mask after handlers: USR1 blocked %d\n", sigismember(&old, SIGUSR1));

	// SIGCHLD handler.
	signal(SIGCHLD, on_chld);
	for (int i = 0; i < 3; i++) {
		pid_t p = fork();
		if (p == 0)
			_exit(i);
		int st;
		waitpid(p, &st, 0);
	}
	printf("SIGCHLD handled: %d\n", chld);
	signal(SIGCHLD, SIG_DFL);

	// SIGSEGV handler with siglongjmp.
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	if (sigsetjmp(jb, 1) == 0) {
		*(volatile int *)0x1234 = 1;
		printf("no fault?\n");
	} else {
		printf("SIGSEGV caught at %p\n", (void *)lastaddr);
	}

	// SA_RESETHAND: the second one takes the default (ignored here: SIGURG).
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr2;
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGURG, &sa, NULL);
	int before = hits;
	raise(SIGURG);
	raise(SIGURG);
	printf("SA_RESETHAND: handler ran %d time(s)\n", hits - before);

	// FPU state restored after a handler that uses it.
	signal(SIGUSR2, clobber_fpu);
	double keep = 0;
	__asm__ volatile("movq %1, %%xmm7\n\tmovq %%xmm7, %0" : "=x"(keep) : "r"((uint64_t)0x400921fb54442d18ULL) : "xmm7");
	raise(SIGUSR2);
	uint64_t back;
	__asm__ volatile("movq %%xmm7, %0" : "=r"(back));
	printf("xmm7 after a handler that zeroed it: %s\n", back == 0x400921fb54442d18ULL ? "intact" : "clobbered");

	// A sleeping read interrupted: EINTR without SA_RESTART, continued with it.
	for (int restart = 0; restart < 2; restart++) {
		int fds[2];
		pipe(fds);
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_usr2;
		sa.sa_flags = restart ? SA_RESTART : 0;
		sigaction(SIGUSR2, &sa, NULL);
		pid_t parent = getpid();
		pid_t p = fork();
		if (p == 0) {
			struct timespec ts = {0, 20 * 1000 * 1000};
			nanosleep(&ts, 0);
			kill(parent, SIGUSR2);
			nanosleep(&ts, 0);
			write(fds[1], "x", 1);
			_exit(0);
		}
		char c;
		ssize_t n = read(fds[0], &c, 1);
		printf("read with%s SA_RESTART: %s\n", restart ? "" : "out",
		       n == 1 ? "got the byte" : (errno == EINTR ? "EINTR" : "error"));
		waitpid(p, NULL, 0);
		close(fds[0]);
		close(fds[1]);
	}

	// sigaltstack.
	stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
	sigaltstack(&ss, NULL);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alt;
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGUSR2, &sa, NULL);
	raise(SIGUSR2);
	printf("handler on the alternate stack: %s\n", onalt ? "yes" : "no");

	// abort() with a handler that returns: the process still dies by SIGABRT.
	fflush(stdout);
	signal(SIGABRT, on_abrt);
	abort();
}
