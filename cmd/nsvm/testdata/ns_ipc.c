// ns_ipc: SysV message queues are per IPC namespace. A queue made with a
// key is found by a child in the same namespace and not by one in a new
// IPC namespace, which can make its own queue with the same key.
// Blocking receive, IPC_NOWAIT, E2BIG/MSG_NOERROR, type selection and
// IPC_RMID. Every queue is removed at the end.
//
// Deterministic natively too: the parent sends the child's wake-up message
// only after the child has finished its IPC_NOWAIT checks (a pipe says so)
// and sleeps in msgrcv (its /proc status says so), so that no check can
// take that message and the receive does block.
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nstest.h"

#define KEY 0x6e73766d

struct msg {
	long mtype;
	char text[64];
};

// sleeping reports whether pid's /proc status says S (sleeping); gone is
// set when the process has exited (or cannot be read).
static int sleeping(pid_t pid, int *gone) {
	char path[64], line[128];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	*gone = f == NULL;
	if (f == NULL)
		return 0;
	int s = 0;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "State:", 6) == 0) {
			char *st = line + 6 + strspn(line + 6, " \t");
			s = *st == 'S';
			*gone = *st == 'Z' || *st == 'X';
		}
	fclose(f);
	return s;
}

int main(void) {
	int q = msgget(KEY, IPC_CREAT | IPC_EXCL | 0600);
	if (q < 0) {
		printf("msgget(create): %s\n", ename(errno));
		return 1;
	}
	printf("created queue with key: yes\n");
	printf("create again with IPC_EXCL: %s\n", msgget(KEY, IPC_CREAT | IPC_EXCL | 0600) < 0 ? ename(errno) : "ok");
	fflush(stdout);
	struct msg m = {1, "hello"};
	msgsnd(q, &m, 6, 0);
	m.mtype = 3;
	strcpy(m.text, "three");
	msgsnd(q, &m, 6, 0);

	int ready[2];
	if (pipe(ready) < 0) {
		printf("pipe: %s\n", ename(errno));
		return 1;
	}
	pid_t pid = fork();
	if (pid == 0) { // same IPC namespace
		close(ready[0]);
		int c = msgget(KEY, 0);
		struct msg r;
		printf("child: same namespace finds the queue: %s\n", c == q ? "yes" : "no");
		ssize_t n = msgrcv(c, &r, sizeof r.text, 3, 0);
		printf("child: type 3 message: %s (%zd bytes)\n", r.text, n);
		n = msgrcv(c, &r, 2, 0, IPC_NOWAIT);
		printf("child: 2-byte buffer: %s\n", n < 0 ? ename(errno) : "ok");
		n = msgrcv(c, &r, 2, 0, IPC_NOWAIT | MSG_NOERROR);
		printf("child: MSG_NOERROR truncates to %zd bytes\n", n);
		n = msgrcv(c, &r, sizeof r.text, 0, IPC_NOWAIT);
		printf("child: empty queue with IPC_NOWAIT: %s\n", n < 0 ? ename(errno) : "ok");
		fflush(stdout);
		// Tell the parent, then block until it sends.
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		n = msgrcv(c, &r, sizeof r.text, 7, 0);
		printf("child: woken by the parent's message: %s\n", r.text);
		fflush(stdout);
		_exit(0);
	}
	close(ready[1]);
	char b;
	if (read(ready[0], &b, 1) != 1) {
		printf("child did not get to its blocking receive\n");
		return 1;
	}
	close(ready[0]);
	// Wait for the child to sleep in msgrcv (5 s at most: the message is
	// sent either way, and the output does not depend on it).
	struct timespec ts = {0, 1000 * 1000};
	int gone = 0;
	for (int i = 0; i < 5000 && !sleeping(pid, &gone) && !gone; i++)
		nanosleep(&ts, 0);
	m.mtype = 7;
	strcpy(m.text, "wake up");
	msgsnd(q, &m, 8, 0);
	wait(NULL);

	if (syscall(SYS_clone, CLONE_NEWIPC | SIGCHLD, 0, 0, 0, 0) == 0) {
		int c = msgget(KEY, 0);
		printf("new ipc ns: msgget(key): %s\n", c < 0 ? ename(errno) : "found (wrong)");
		c = msgget(KEY, IPC_CREAT | IPC_EXCL | 0600);
		printf("new ipc ns: create with the same key: %s\n", c >= 0 ? "yes" : ename(errno));
		struct msg r = {5, "inner"};
		msgsnd(c, &r, 6, 0);
		memset(&r, 0, sizeof r);
		msgrcv(c, &r, sizeof r.text, 0, 0);
		printf("new ipc ns: own queue works: %s\n", r.text);
		msgctl(c, IPC_RMID, NULL);
		fflush(stdout);
		_exit(0);
	}
	wait(NULL);
	struct msqid_ds ds;
	msgctl(q, IPC_STAT, &ds);
	printf("parent queue after the children: %lu messages\n", (unsigned long)ds.msg_qnum);
	printf("remove: %s\n", msgctl(q, IPC_RMID, NULL) == 0 ? "ok" : ename(errno));
	printf("use after remove: %s\n", msgsnd(q, &m, 1, 0) < 0 ? ename(errno) : "ok");
	return 0;
}
