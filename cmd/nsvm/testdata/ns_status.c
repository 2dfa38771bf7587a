// ns_status: the NSpid and NStgid lines of /proc/self/status (spec 3.1.1):
// one number per pid namespace level, from the level of the /proc mount
// (the root namespace here) down to the process's own. A child unshares
// its pid namespace and forks: the grandchild's lines have 2 numbers, the
// last 1 (its pid in the new namespace), the first the pid its parent got
// from fork(); the great-grandchild's last number is 2. Only counts, the
// namespace-relative last numbers and comparisons are printed.
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

#include "nstest.h"

#define MAXN 8

// field finds the line "<key>:" of /proc/self/status and parses its
// numbers into v; returns their count, or -1 if the line is missing.
static int field(const char *key, long v[MAXN]) {
	static char buf[8192];
	int fd = open("/proc/self/status", O_RDONLY);
	if (fd < 0)
		return -1;
	size_t len = 0;
	ssize_t n;
	while (len < sizeof buf - 1 && (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = 0;
	size_t k = strlen(key);
	for (char *line = buf; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		if (strncmp(line, key, k) == 0 && line[k] == ':') {
			int cnt = 0;
			char *p = line + k + 1;
			for (;;) {
				while (*p == '\t' || *p == ' ')
					p++;
				if (*p < '0' || *p > '9')
					break;
				long x = strtol(p, &p, 10);
				if (cnt < MAXN)
					v[cnt] = x;
				cnt++;
			}
			return *p ? -2 : cnt;
		}
		line = nl ? nl + 1 : NULL;
	}
	return -1;
}

// show prints the count and the last number of key's line; returns the
// count and stores the first number in *first.
static int show(const char *who, const char *key, int want_count, long want_last, long *first) {
	long v[MAXN];
	int cnt = field(key, v);
	if (cnt <= 0) {
		printf("%s %s: %s\n", who, key, cnt == -1 ? "line missing" : "bad line");
		bad++;
		return cnt;
	}
	if (cnt > MAXN) {
		printf("%s %s: %d numbers\n", who, key, cnt);
		bad++;
		return cnt;
	}
	if (want_last >= 0)
		printf("%s %s: %d number%s, last %ld\n", who, key, cnt, cnt == 1 ? "" : "s", v[cnt - 1]);
	else
		printf("%s %s: %d number%s\n", who, key, cnt, cnt == 1 ? "" : "s");
	if (cnt != want_count || (want_last >= 0 && v[cnt - 1] != want_last))
		bad++;
	if (first)
		*first = v[0];
	return cnt;
}

static void grandchild(int wfd) {
	long first = -1, tfirst = -1, pid[MAXN];
	show("grandchild", "NSpid", 2, 1, &first);
	show("grandchild", "NStgid", 2, 1, &tfirst);
	expect("grandchild NStgid first == NSpid first", first == tfirst);
	expect("grandchild Pid: line == NSpid first", field("Pid", pid) == 1 && pid[0] == first);
	if (write(wfd, &first, sizeof first) != sizeof first)
		bad++;
	close(wfd);
	pid_t p = fork();
	if (p < 0) {
		printf("fork failed: %s\n", ename(errno));
		_exit(bad + 1);
	}
	if (p == 0) {
		show("great-grandchild", "NSpid", 2, 2, NULL);
		show("great-grandchild", "NStgid", 2, 2, NULL);
		_exit(bad);
	}
	reap("great-grandchild", p);
	_exit(bad);
}

static void child(void) {
	long first = -1, v[MAXN];
	show("child", "NSpid", 1, -1, &first);
	show("child", "NStgid", 1, -1, NULL);
	expect("child NSpid == getpid()", first == getpid());
	int cnt = field("NSpgid", v);
	printf("child NSpgid: %d number%s\n", cnt, cnt == 1 ? "" : "s");
	if (cnt != 1)
		bad++;

	long r = syscall(SYS_unshare, (long)CLONE_NEWPID);
	printf("child: unshare(NEWPID): %s\n", r == 0 ? "0" : ename(errno));
	if (r != 0)
		_exit(bad + 1);
	show("child after unshare", "NSpid", 1, -1, NULL);

	int pfd[2];
	if (pipe(pfd) != 0)
		_exit(bad + 1);
	pid_t p = fork();
	if (p < 0) {
		printf("fork failed: %s\n", ename(errno));
		_exit(bad + 1);
	}
	if (p == 0) {
		close(pfd[0]);
		grandchild(pfd[1]);
	}
	close(pfd[1]);
	long got = -2;
	if (read(pfd[0], &got, sizeof got) != sizeof got)
		got = -2;
	close(pfd[0]);
	reap("grandchild", p);
	expect("grandchild NSpid first == fork() value in the child", got == p);
	_exit(bad);
}

int main(void) {
	setvbuf(stdout, NULL, _IONBF, 0);
	in_child("child", child);
	printf("unexpected results: %d\n", bad);
	return 0;
}
