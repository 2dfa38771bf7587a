// kill_children: children killed by signals, as their parent sees it
// (spec 1.7): SIGKILL and SIGTERM from the parent while the child blocks
// in read, a NULL store (SIGSEGV), raise(SIGTERM), kill(getpid(), SIGUSR1)
// and abort(), all with default dispositions; kill(pid, 0) as an existence
// check before the kill, on the zombie, and after reaping; kill's errors.
// Core dumps are switched off in the children (and WCOREDUMP not printed)
// because they depend on the host's ulimit and core_pattern.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *yesno(int b) { return b ? "yes" : "no"; }

static const char *ename(int e) {
	const char *n = strerrorname_np(e);
	return n ? n : "?";
}

static const char *sname(int s) {
	const char *n = sigabbrev_np(s);
	return n ? n : "?";
}

static void nocore(void) {
	struct rlimit rl = {0, 0};
	setrlimit(RLIMIT_CORE, &rl); // results ignored: only avoids core files
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

static void report(const char *what, pid_t pid, pid_t w, int st) {
	printf("%s: waitpid ok: %s, ", what, yesno(w == pid));
	if (WIFSIGNALED(st))
		printf("WIFSIGNALED, WTERMSIG=%d (SIG%s)\n", WTERMSIG(st), sname(WTERMSIG(st)));
	else if (WIFEXITED(st))
		printf("exited with %d\n", WEXITSTATUS(st));
	else
		printf("status %#x\n", st);
}

// blocked_child forks a child that blocks reading fd and exits 0 if it
// ever reads something.
static pid_t blocked_child(int fd) {
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		read(fd, &c, 1);
		_exit(0);
	}
	return pid;
}

static pid_t crash_child(int how) {
	fflush(stdout);
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	nocore();
	switch (how) {
	case 0: {
		volatile int *volatile p = NULL;
		*p = 1;
		break;
	}
	case 1:
		raise(SIGTERM);
		break;
	case 2:
		kill(getpid(), SIGUSR1);
		break;
	case 3:
		abort();
	}
	_exit(50 + how); // not reached
}

int main(void) {
	int p[2];
	if (pipe(p)) {
		perror("pipe");
		return 1;
	}
	int st;
	pid_t w;

	// SIGKILL a child blocked in read.
	pid_t pid = blocked_child(p[0]);
	int r = kill(pid, 0);
	printf("kill(child, 0) while it runs: %d\n", r);
	r = kill(pid, SIGKILL);
	printf("kill(child, SIGKILL): %d\n", r);
	// Wait for the zombie without reaping it.
	siginfo_t si;
	memset(&si, 0, sizeof si);
	r = waitid(P_PID, pid, &si, WEXITED | WNOWAIT);
	printf("waitid(WNOWAIT): %d, si_pid ok: %s, si_signo=SIG%s, si_code=%s, si_status=%d\n", r,
	       yesno(si.si_pid == pid), sname(si.si_signo),
	       si.si_code == CLD_KILLED ? "CLD_KILLED" : si.si_code == CLD_DUMPED ? "CLD_DUMPED" : "other",
	       si.si_status);
	r = kill(pid, 0);
	printf("kill(zombie, 0): %d\n", r);
	w = waitpid(pid, &st, 0);
	report("SIGKILLed child", pid, w, st);
	errno = 0;
	r = kill(pid, 0);
	printf("kill(reaped child, 0): %d %s\n", r, ename(errno));
	errno = 0;
	r = kill(pid, SIGKILL);
	printf("kill(reaped child, SIGKILL): %d %s\n", r, ename(errno));

	// SIGTERM a child blocked in read.
	pid = blocked_child(p[0]);
	kill(pid, SIGTERM);
	w = waitpid(pid, &st, 0);
	report("SIGTERMed child", pid, w, st);

	// Children that kill themselves.
	const char *what[] = {"NULL store", "raise(SIGTERM)", "kill(getpid(), SIGUSR1)", "abort()"};
	for (int i = 0; i < 4; i++) {
		pid = crash_child(i);
		w = waitpid(pid, &st, 0);
		report(what[i], pid, w, st);
	}

	// A child that exits normally after the parent released it.
	pid = blocked_child(p[0]);
	write(p[1], "x", 1);
	w = waitpid(pid, &st, 0);
	report("released child", pid, w, st);

	// kill's own errors and the caller itself.
	errno = 0;
	r = kill(getpid(), 0);
	printf("kill(self, 0): %d\n", r);
	errno = 0;
	r = kill(getpid(), 65);
	printf("kill(self, 65): %d %s\n", r, ename(errno));
	errno = 0;
	r = kill(getpid(), -1);
	printf("kill(self, -1): %d %s\n", r, ename(errno));
	errno = 0;
	w = wait(&st);
	printf("no children left: %s\n", yesno(w == -1 && errno == ECHILD));
	return 0;
}
