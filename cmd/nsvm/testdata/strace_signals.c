// strace_signals.c: signals that interrupt syscalls asleep, as strace -f
// prints them (strace_test.go, TestStraceSignals): a read restarted after
// an SA_RESTART handler, a pause that fails with EINTR, SIGCHLD shown
// though its action is to ignore it, children killed asleep in read by
// SIGKILL and by SIGTERM, and a thread's exit_group while the main thread
// sleeps in pthread_join.
//
// Whether the signal finds its target asleep depends natively on timing
// (the naps): the recorded strace output, strace_signals.golden, comes
// from a run in which it did. Under nsvm one task runs at a time and the
// order is always that one.
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void handler(int sig) { (void)sig; }

static void nap(void) {
	struct timespec ts = {0, 200000000};
	nanosleep(&ts, NULL);
}

static void *group_exit(void *arg) {
	(void)arg;
	nap();
	syscall(SYS_exit_group, 0); // the main thread is asleep in its join
	return NULL;
}

int main(void) {
	struct sigaction sa = {.sa_handler = handler, .sa_flags = SA_RESTART};
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_flags = 0;
	sigaction(SIGUSR2, &sa, NULL);
	int p[2];
	pipe(p);
	pid_t parent = getpid();
	char buf[2];
	int st;
	pid_t c = fork();
	if (c == 0) {
		nap();
		kill(parent, SIGUSR1); // the parent's read restarts
		nap();
		write(p[1], "ab", 2);
		nap();
		kill(parent, SIGUSR2); // the parent's pause fails with EINTR
		nap();
		_exit(0);
	}
	read(p[0], buf, 2);
	pause();
	wait4(c, &st, 0, NULL); // then SIGCHLD, though ignored

	// Children killed asleep in read.
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int q[2];
	pipe(q);
	c = fork();
	if (c == 0) {
		read(q[0], buf, 1);
		_exit(1);
	}
	nap();
	kill(c, SIGKILL);
	wait4(c, &st, 0, NULL);
	c = fork();
	if (c == 0) {
		read(q[0], buf, 1);
		_exit(1);
	}
	nap();
	kill(c, SIGTERM);
	wait4(c, &st, 0, NULL);
	write(1, "done\n", 5);

	pthread_t th;
	pthread_create(&th, NULL, group_exit, NULL);
	pthread_join(th, NULL);
	return 1;
}
