// ns_pid_nest: the PID namespace nesting limit (spec 3.1.7, checklist item
// 13): a chain of clone(CLONE_NEWPID|SIGCHLD) children, each the init of
// a namespace one level deeper (getpid() == 1, getppid() == 0), succeeds
// for levels 1..32; the clone that would create level 33 fails with
// ENOSPC. The result travels up the chain in exit statuses; only the top
// prints it.
//
// Exit statuses: 0 all levels ok and the 33rd failed with ENOSPC; 1..99
// the 33rd failed with that errno; 200 the 33rd unexpectedly succeeded;
// 100+L clone failed at level L (< 32); 150+L level L is not pid 1 or
// its getppid() is not 0; 250 a waitpid failed.
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nstest.h"

#define MAXLEVEL 32

// nest runs in the process at namespace level `level` (0: the test's own)
// and returns the status its chain reports.
static int nest(int level) {
	long r = syscall(SYS_clone, (long)(CLONE_NEWPID | SIGCHLD), 0L, 0L, 0L, 0L);
	if (r == 0) {
		// The child: init of namespace level+1.
		if (level + 1 > MAXLEVEL)
			_exit(0); // unexpectedly created: leave at once
		if (getpid() != 1 || getppid() != 0)
			_exit(150 + level + 1);
		_exit(nest(level + 1));
	}
	if (r < 0) {
		int e = errno;
		if (level == MAXLEVEL)
			return e == ENOSPC ? 0 : (e > 0 && e < 100 ? e : 99);
		return 100 + level + 1;
	}
	int st;
	if (waitpid((pid_t)r, &st, 0) != r || !WIFEXITED(st))
		return 250;
	if (level == MAXLEVEL)
		return 200;
	return WEXITSTATUS(st);
}

int main(void) {
	setvbuf(stdout, NULL, _IONBF, 0);
	int s = nest(0);
	if (s == 0)
		printf("%d levels ok, %drd: ENOSPC\n", MAXLEVEL, MAXLEVEL + 1);
	else if (s < 100)
		printf("%d levels ok, %drd: errno=%s\n", MAXLEVEL, MAXLEVEL + 1, ename(s));
	else if (s == 200)
		printf("%d levels ok, %drd: UNEXPECTED SUCCESS\n", MAXLEVEL, MAXLEVEL + 1);
	else if (s == 250)
		printf("a waitpid in the chain failed\n");
	else if (s >= 150)
		printf("level %d: getpid() != 1 or getppid() != 0\n", s - 150);
	else
		printf("clone(NEWPID) creating level %d failed\n", s - 100);
	return s == 0 ? 0 : 1;
}
