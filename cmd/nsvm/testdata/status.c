/*
 * status.c: ends the way it is told, for the exit-status table.
 *
 *   status exit N     exit(N) (N may be out of 0-255: the kernel keeps N & 0xff)
 *   status signal N   die of signal N sent to itself, its default action
 *   status sigpipe    write to a pipe whose read end is closed
 *   status sleep      sleep for an hour
 *   status hang       block for ever reading a pipe it holds the write end of
 *   status deadlock   the parent waits for a child that blocks for ever
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void hang(void)
{
	int p[2];
	char c;

	if (pipe(p) != 0) {
		perror("pipe");
		exit(99);
	}
	/* Nobody will ever write: we hold the only write end. */
	read(p[0], &c, 1);
	printf("read returned\n");
	exit(98);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: status exit N | signal N | sigpipe | sleep | hang | deadlock\n");
		return 2;
	}
	const char *mode = argv[1];
	int n = argc > 2 ? atoi(argv[2]) : 0;

	if (strcmp(mode, "exit") == 0) {
		printf("exit(%d)\n", n);
		fflush(stdout);
		exit(n);
	}
	if (strcmp(mode, "signal") == 0) {
		sigset_t all;

		printf("signal %d\n", n);
		fflush(stdout);
		signal(n, SIG_DFL);
		sigemptyset(&all);
		sigaddset(&all, n);
		sigprocmask(SIG_UNBLOCK, &all, NULL);
		kill(getpid(), n);
		printf("survived signal %d\n", n);
		return 97;
	}
	if (strcmp(mode, "sigpipe") == 0) {
		int p[2];

		printf("writing to a pipe without readers\n");
		fflush(stdout);
		if (pipe(p) != 0) {
			perror("pipe");
			return 99;
		}
		close(p[0]);
		write(p[1], "x", 1);
		printf("survived the write\n");
		return 97;
	}
	if (strcmp(mode, "sleep") == 0) {
		printf("sleeping for an hour\n");
		fflush(stdout);
		sleep(3600);
		printf("slept\n");
		return 98;
	}
	if (strcmp(mode, "hang") == 0) {
		printf("reading a pipe nobody writes\n");
		fflush(stdout);
		hang();
	}
	if (strcmp(mode, "deadlock") == 0) {
		pid_t pid;

		printf("waiting for a child that waits for ever\n");
		fflush(stdout);
		pid = fork();
		if (pid == 0)
			hang();
		waitpid(pid, NULL, 0);
		printf("the child ended\n");
		return 98;
	}
	fprintf(stderr, "status: unknown mode %s\n", mode);
	return 2;
}
