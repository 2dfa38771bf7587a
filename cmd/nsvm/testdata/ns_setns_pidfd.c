// ns_setns_pidfd: setns through a pidfd (Linux 5.8+): a child in a new
// UTS namespace names it; the parent joins that namespace through
// pidfd_open(child) and sees the child's hostname. Bad nstype masks give
// EINVAL.
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
	int ready[2], done[2];
	if (pipe(ready) || pipe(done))
		return 1;
	pid_t child = fork();
	if (child == 0) {
		char c;
		if (unshare(CLONE_NEWUTS) || sethostname("pidfd-target", 12))
			_exit(2);
		write(ready[1], "x", 1);
		read(done[0], &c, 1);
		_exit(0);
	}
	char c;
	read(ready[0], &c, 1);
	// Join in a child of our own, so that our hostname stays.
	pid_t joiner = fork();
	if (joiner == 0) {
		int pfd = syscall(SYS_pidfd_open, child, 0);
		printf("pidfd_open: %s\n", pfd >= 0 ? "ok" : strerror(errno));
		printf("setns(pidfd, 0): %s\n", setns(pfd, 0) < 0 && errno == EINVAL ? "EINVAL" : "unexpected");
		printf("setns(pidfd, CLONE_VM): %s\n", setns(pfd, CLONE_VM) < 0 && errno == EINVAL ? "EINVAL" : "unexpected");
		printf("setns(pidfd, CLONE_NEWUTS): %s\n", setns(pfd, CLONE_NEWUTS) == 0 ? "ok" : strerror(errno));
		struct utsname u;
		uname(&u);
		printf("hostname after joining: %s\n", u.nodename);
		fflush(stdout);
		_exit(0);
	}
	waitpid(joiner, NULL, 0);
	write(done[1], "x", 1);
	waitpid(child, NULL, 0);
	return 0;
}
