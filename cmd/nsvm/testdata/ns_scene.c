// ns_scene: a fixed namespace scenario for `nsvm ns` (golden files
// ns_scene.golden.txt and .dot). When the program starts to exit:
//   - child A has unshared UTS and PID and forked the init of its new
//     pid namespace;
//   - child B was cloned into new IPC and network namespaces;
//   - child C has a user namespace of its own, and a UTS namespace it owns;
//   - the program holds an fd on its own /proc/self/ns/uts.
// Everyone waits on a pipe the program closes by exiting.
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int block[2], ready[2];

static void wait_for_exit(void) {
	char c;
	close(block[1]);
	while (read(block[0], &c, 1) > 0)
		;
}

static void say_ready(void) {
	if (write(ready[1], "x", 1) != 1)
		_exit(9);
}

static void wait_ready(void) {
	char c;
	if (read(ready[0], &c, 1) != 1)
		_exit(4);
}

int main(void) {
	if (pipe(block) || pipe(ready))
		return 1;
	// One child at a time, each ready before the next starts, so that
	// pids and inode numbers come out the same in every run.
	if (fork() == 0) { // A
		if (unshare(CLONE_NEWUTS | CLONE_NEWPID))
			_exit(2);
		sethostname("scene-a", 7);
		if (fork() == 0) { // A's child: pid 1 of the new pid namespace
			say_ready();
			wait_for_exit();
			_exit(0);
		}
		wait_for_exit();
		wait(NULL);
		_exit(0);
	}
	wait_ready();
	if (syscall(SYS_clone, CLONE_NEWIPC | CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0) == 0) { // B
		say_ready();
		wait_for_exit();
		_exit(0);
	}
	wait_ready();
	if (fork() == 0) { // C
		if (unshare(CLONE_NEWUSER) || unshare(CLONE_NEWUTS))
			_exit(3);
		say_ready();
		wait_for_exit();
		_exit(0);
	}
	wait_ready();
	int fd = open("/proc/self/ns/uts", O_RDONLY);
	printf("scene ready, holding an fd on my uts namespace: %s\n", fd >= 0 ? "yes" : "no");
	fflush(stdout);
	return 0;
}
