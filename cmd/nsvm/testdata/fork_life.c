// fork_life: the basic life cycle of processes (spec 1.1, 1.7): fork,
// exit statuses, a process tree, getpid/getppid relations, WNOHANG, pipes
// between parent and child, and wait4's errors. Pids are never printed,
// only relations between them; every ordering between processes is forced
// with pipes and waitpid.
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *yesno(int b) { return b ? "yes" : "no"; }

static const char *ename(int e) {
	const char *n = strerrorname_np(e);
	return n ? n : "?";
}

static pid_t xfork(void) {
	fflush(stdout);
	pid_t p = fork();
	if (p < 0) {
		printf("fork failed: %s\n", ename(errno));
		exit(100);
	}
	return p;
}

static void xwrite(int fd, const void *p, size_t n) {
	if (write(fd, p, n) != (ssize_t)n)
		_exit(101);
}

static void xread(int fd, void *p, size_t n) {
	if (read(fd, p, n) != (ssize_t)n)
		_exit(102);
}

// describe prints how a child ended.
static void describe(const char *what, pid_t pid, pid_t w, int st) {
	printf("%s: waitpid returned the child: %s, ", what, yesno(w == pid));
	if (WIFEXITED(st))
		printf("exited with %d\n", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		printf("killed by signal %d\n", WTERMSIG(st));
	else
		printf("status %#x\n", st);
}

// tree: a node at depth d > 0 forks two children at depth d-1, waits for
// both and exits with the sum of their exit statuses + 1; leaves exit 1.
__attribute__((noreturn)) static void tree(int d) {
	int sum = 0;
	if (d > 0) {
		pid_t kids[2];
		for (int i = 0; i < 2; i++) {
			kids[i] = fork();
			if (kids[i] < 0)
				_exit(200);
			if (kids[i] == 0)
				tree(d - 1);
		}
		for (int i = 0; i < 2; i++) {
			int st;
			if (waitpid(kids[i], &st, 0) != kids[i] || !WIFEXITED(st))
				_exit(201);
			sum += WEXITSTATUS(st);
		}
	}
	_exit(sum + 1);
}

int main(void) {
	int st;
	pid_t pid, w;

	// 1. 20 children exit(i); each status comes back.
	int good = 0;
	for (int i = 0; i < 20; i++) {
		pid = xfork();
		if (pid == 0)
			exit(i);
		w = waitpid(pid, &st, 0);
		if (w == pid && WIFEXITED(st) && WEXITSTATUS(st) == i)
			good++;
	}
	printf("exit(i) loop: %d/20 statuses correct\n", good);

	// 2. Exit statuses at the edges: 0, 255, and only the low 8 bits.
	int codes[] = {0, 255, 256, 257, -1};
	for (int i = 0; i < 5; i++) {
		pid = xfork();
		if (pid == 0)
			exit(codes[i]);
		w = waitpid(pid, &st, 0);
		char what[32];
		snprintf(what, sizeof what, "exit(%d)", codes[i]);
		describe(what, pid, w, st);
	}
	pid = xfork();
	if (pid == 0)
		_exit(77);
	w = waitpid(pid, &st, 0);
	describe("_exit(77)", pid, w, st);
	pid = xfork();
	if (pid == 0)
		return 9; // return from main == exit
	w = waitpid(pid, &st, 0);
	describe("return 9 from main", pid, w, st);

	// 3. A tree of depth 3 and fanout 2 (15 processes).
	pid = xfork();
	if (pid == 0)
		tree(3);
	w = waitpid(pid, &st, 0);
	describe("tree depth 3 fanout 2 (root status = node count)", pid, w, st);

	// 4. Relations between pids, reported by the child through a pipe.
	int up[2], down[2];
	if (pipe(up) || pipe(down)) {
		perror("pipe");
		return 1;
	}
	pid_t me = getpid();
	pid = xfork();
	if (pid == 0) {
		pid_t r[3] = {getpid(), getppid(), me};
		xwrite(up[1], r, sizeof r);
		_exit(0);
	}
	pid_t r[3];
	xread(up[0], r, sizeof r);
	w = waitpid(pid, &st, 0);
	printf("child getpid() == fork() return: %s\n", yesno(r[0] == pid));
	printf("child getppid() == parent getpid(): %s\n", yesno(r[1] == me));
	printf("child getpid() != parent getpid(): %s\n", yesno(r[0] != me));
	printf("parent getpid() unchanged after fork: %s\n", yesno(getpid() == me));
	printf("child sees parent's memory copy: %s\n", yesno(r[2] == me));
	describe("pid relations child", pid, w, st);

	// 5. WNOHANG on a running child returns 0; the child is blocked
	// reading a pipe until the parent has checked.
	pid = xfork();
	if (pid == 0) {
		char c;
		xread(down[0], &c, 1);
		_exit(c == 'g' ? 5 : 6);
	}
	st = 12345;
	w = waitpid(pid, &st, WNOHANG);
	printf("WNOHANG on a running child: returned %d, status untouched: %s\n", (int)w, yesno(st == 12345));
	xwrite(down[1], "g", 1);
	w = waitpid(pid, &st, 0);
	describe("released child", pid, w, st);
	w = waitpid(pid, &st, WNOHANG);
	printf("WNOHANG after reaping it: %d %s\n", (int)w, w < 0 ? ename(errno) : "");

	// 6. Handshake: parent -> child -> parent.
	pid = xfork();
	if (pid == 0) {
		char buf[8] = {0};
		xread(down[0], buf, 4);
		char reply[32];
		snprintf(reply, sizeof reply, "pong(%s)", buf);
		xwrite(up[1], reply, 10);
		_exit(0);
	}
	xwrite(down[1], "ping", 4);
	char reply[16] = {0};
	xread(up[0], reply, 10);
	w = waitpid(pid, &st, 0);
	printf("handshake: parent sent \"ping\", child answered \"%s\"\n", reply);
	describe("handshake child", pid, w, st);

	// 7. A grandchild is not a child: waitpid on it is ECHILD, even while
	// it exists; its own parent can reap it.
	pid = xfork();
	if (pid == 0) {
		pid_t g = fork();
		if (g < 0)
			_exit(103);
		if (g == 0) {
			char c;
			xread(down[0], &c, 1); // blocks until the grandparent has checked
			_exit(4);
		}
		xwrite(up[1], &g, sizeof g);
		int gst;
		pid_t gw = waitpid(g, &gst, 0);
		_exit(gw == g && WIFEXITED(gst) ? 10 + WEXITSTATUS(gst) : 99);
	}
	pid_t g;
	xread(up[0], &g, sizeof g);
	errno = 0;
	w = waitpid(g, &st, 0);
	printf("waitpid(grandchild): %d %s\n", (int)w, ename(errno));
	errno = 0;
	w = waitpid(g, &st, WNOHANG);
	printf("waitpid(grandchild, WNOHANG): %d %s\n", (int)w, ename(errno));
	xwrite(down[1], "x", 1);
	w = waitpid(pid, &st, 0);
	describe("middle child (10 + grandchild's status)", pid, w, st);

	// 8. wait4 errors with no children left.
	errno = 0;
	w = wait(&st);
	printf("wait() with no children: %d %s\n", (int)w, ename(errno));
	errno = 0;
	w = waitpid(-1, &st, WNOHANG);
	printf("waitpid(-1, WNOHANG) with no children: %d %s\n", (int)w, ename(errno));
	errno = 0;
	w = waitpid(me, &st, 0);
	printf("waitpid(own pid): %d %s\n", (int)w, ename(errno));
	errno = 0;
	w = waitpid(INT_MIN, &st, 0);
	printf("waitpid(INT_MIN): %d %s\n", (int)w, ename(errno));
	errno = 0;
	w = waitpid(-1, &st, 0x10000000 /* not a wait option */);
	printf("waitpid(-1, bad options): %d %s\n", (int)w, ename(errno));
	printf("done\n");
	return 0;
}
