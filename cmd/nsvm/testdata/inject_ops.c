// inject_ops MODE [self]: one process-creation call, made in a helper
// child so that every attempt starts from the same state.
//   fork     fork() (glibc's clone)
//   clone_ns clone(CLONE_NEWUTS|NEWPID|NEWIPC|NEWNET|NEWNS)
//   unshare  unshare(the same flags)
//   pidns    unshare(CLONE_NEWPID), then clone(CLONE_PIDFD) into the new
//            namespace (the call under test), then another fork, which
//            gives ENOMEM once the namespace is poisoned or its init died
// Without "self" the helper runs once and `nsvm inject` arms the call
// from the host (it is the helper's clone/unshare: clone:2 or unshare:1).
// With "self" the program runs the sweep itself as syzkaller does:
// fail-nth = 1, 2, ... through /proc/thread-self/fail-nth until the call
// no longer fails, one line per run.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define NSFLAGS (CLONE_NEWUTS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWNS)

static long do_clone(long flags, int *pidfd) { return syscall(SYS_clone, flags | SIGCHLD, 0, pidfd, 0, 0); }

static int set_fail_nth(unsigned n);
static unsigned arm_nth; // 0: the host arms (or nothing)
static long left_after_call = -2;
static long read_fail_nth(void);

static void arm(void) {
	if (arm_nth && set_fail_nth(arm_nth))
		_exit(126);
}

// op runs the call under test, arming fail-nth right before it; it
// returns the errno (0: success) and for pidns the later fork's errno.
static int op(const char *mode, int *later) {
	long r;
	int e = 0;
	*later = 0;
	if (strcmp(mode, "pidns"))
		arm();
	if (!strcmp(mode, "fork")) {
		r = fork();
	} else if (!strcmp(mode, "clone_ns")) {
		r = do_clone(NSFLAGS, NULL);
	} else if (!strcmp(mode, "unshare")) {
		r = unshare(NSFLAGS);
		return r < 0 ? errno : 0;
	} else if (!strcmp(mode, "pidns")) {
		if (unshare(CLONE_NEWPID))
			return -1;
		int pidfd = -1;
		arm();
		r = do_clone(CLONE_PIDFD, &pidfd);
		e = r < 0 ? errno : 0;
		if (r == 0)
			_exit(0);
		if (arm_nth) {
			// Read back now, before the later fork spends the count.
			left_after_call = read_fail_nth();
			set_fail_nth(0);
		}
		if (r > 0)
			waitpid(r, NULL, 0);
		long r2 = fork();
		if (r2 == 0)
			_exit(0);
		if (r2 < 0)
			*later = errno;
		return e;
	} else {
		return -1;
	}
	if (r == 0)
		_exit(0);
	return r < 0 ? errno : 0;
}

static int set_fail_nth(unsigned n) {
	char buf[16];
	int fd = open("/proc/thread-self/fail-nth", O_WRONLY);
	if (fd < 0)
		return -1;
	int len = snprintf(buf, sizeof buf, "%u", n);
	int w = write(fd, buf, len);
	close(fd);
	return w == len ? 0 : -1;
}

// read_fail_nth returns the remaining count, or -1 if the read itself
// failed (its own user copy took the last count).
static long read_fail_nth(void) {
	char buf[16] = {0};
	int fd = open("/proc/thread-self/fail-nth", O_RDONLY);
	if (fd < 0)
		return -1;
	int n = read(fd, buf, sizeof buf - 1);
	close(fd);
	return n > 0 ? strtol(buf, NULL, 10) : -1;
}

// Helper exit code: 0-127 the errno (0 ok), +128 when the fault was not
// injected; pidns adds the later fork's errno through a pipe.
int main(int argc, char **argv) {
	const char *mode = argc > 1 ? argv[1] : "fork";
	int self = argc > 2 && !strcmp(argv[2], "self");
	int p[2];
	if (pipe(p))
		return 1;
	printf("%s%s\n", mode, self ? " (swept from inside)" : "");
	fflush(stdout);
	for (unsigned nth = 1; nth < 500; nth++) {
		pid_t h = fork();
		if (h == 0) {
			int later;
			arm_nth = self ? nth : 0;
			int e = op(mode, &later);
			long left = self ? (left_after_call != -2 ? left_after_call : read_fail_nth()) : 0;
			if (self)
				set_fail_nth(0);
			if (write(p[1], &later, sizeof later) != sizeof later)
				_exit(125);
			_exit((e & 127) | (self && left != 0 ? 128 : 0));
		}
		int st, later = 0;
		waitpid(h, &st, 0);
		if (read(p[0], &later, sizeof later) != sizeof later)
			later = -1;
		int code = WEXITSTATUS(st);
		const char *res = (code & 127) ? strerrorname_np(code & 127) : "ok";
		if (!self) {
			printf("result: %s", res);
			if (!strcmp(mode, "pidns"))
				printf(", later fork: %s", later ? strerrorname_np(later) : "ok");
			printf("\n");
			break;
		}
		if (code & 128) {
			printf("%u: not injected, %s\n", nth, res);
			break;
		}
		printf("%u: %s", nth, res);
		if (!strcmp(mode, "pidns"))
			printf(", later fork: %s", later ? strerrorname_np(later) : "ok");
		printf("\n");
		fflush(stdout);
	}
	return 0;
}
