// ns_ipc: SysV message queues are per IPC namespace. A queue made with a
// key is found by a child in the same namespace and not by one in a new
// IPC namespace, which can make its own queue with the same key.
// Blocking receive, IPC_NOWAIT, E2BIG/MSG_NOERROR, type selection and
// IPC_RMID. Every queue is removed at the end.
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
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

	if (fork() == 0) { // same IPC namespace
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
		// Block until the parent sends.
		n = msgrcv(c, &r, sizeof r.text, 7, 0);
		printf("child: woken by the parent's message: %s\n", r.text);
		fflush(stdout);
		_exit(0);
	}
	struct timespec ts = {0, 20 * 1000 * 1000};
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
