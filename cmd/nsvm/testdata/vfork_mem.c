// vfork_mem: a vfork child shares the parent's memory and the parent is
// suspended until the child exits (spec 1.1, checklist item 19; LTP
// vfork01/02). The child writes a global and a variable in the parent's
// stack frame, makes syscalls that give the scheduler chances to run the
// parent (which must not run), then _exits with 7.
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int global = 1;
static volatile int steps;        // how far the child got

static const char *yesno(int b) { return b ? "yes" : "no"; }

int main(void) {
	volatile int local = 2;
	pid_t me = getpid();
	volatile pid_t child_getpid = 0, child_getppid = 0;

	fflush(stdout);
	pid_t pid = vfork();
	if (pid < 0) {
		perror("vfork");
		return 1;
	}
	if (pid == 0) {
		// Only async-signal-safe syscalls and plain stores here.
		global = 100;
		local = 200;
		child_getpid = getpid();
		child_getppid = getppid();
		for (int i = 0; i < 50; i++) {
			sched_yield();
			steps = i + 1;
		}
		_exit(7);
	}
	// The parent resumes only once the child has exited: every write
	// of the child must be visible now.
	int steps_at_resume = steps;
	int st;
	pid_t w = waitpid(pid, &st, 0);
	printf("global after vfork: %d\n", global);
	printf("local after vfork: %d\n", local);
	printf("child finished all 50 steps before the parent resumed: %s (%d)\n", yesno(steps_at_resume == 50),
	       steps_at_resume);
	printf("child getpid() == vfork() return: %s\n", yesno(child_getpid == pid));
	printf("child getppid() == parent getpid(): %s\n", yesno(child_getppid == me));
	printf("parent getpid() unchanged: %s\n", yesno(getpid() == me));
	printf("waitpid() == vfork() return: %s\n", yesno(w == pid));
	if (WIFEXITED(st))
		printf("child exit status %d\n", WEXITSTATUS(st));
	else
		printf("child status %#x\n", st);

	// A second vfork, to see the parent is fully usable again.
	fflush(stdout);
	pid = vfork();
	if (pid == 0) {
		global += 1;
		_exit(global == 101 ? 0 : 1);
	}
	w = waitpid(pid, &st, 0);
	printf("second vfork: global %d, child status %d, waitpid ok: %s\n", global,
	       WIFEXITED(st) ? WEXITSTATUS(st) : -1, yesno(w == pid));
	errno = 0;
	w = wait(&st);
	printf("no children left: %s\n", yesno(w == -1 && errno == ECHILD));
	return 0;
}
