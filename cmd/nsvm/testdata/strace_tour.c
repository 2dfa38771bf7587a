// strace_tour.c: a program that strace -f and "nsvm run --trace" must
// print alike (strace_test.go). It makes calls with flags and constants
// to decode (open, mmap, clone, fcntl, arch_prctl, wait options, signals),
// failing calls, unknown and removed syscalls, pipes between processes,
// signals to handlers and fatal ones, fork, vfork, clone and clone3.
//
// Each task's own sequence of calls is deterministic, natively too: no
// timing, no polling. SIGCHLD stays blocked, because a tracer shows its
// delivery (even when its action is to ignore it) at a moment that
// depends on scheduling.
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <asm/prctl.h>

static void handler(int sig) { (void)sig; }

int main(void) {
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);

	// Failing calls: errno names and their text.
	open("/nonexistent/dir/file", O_RDONLY | O_CLOEXEC);
	syscall(SYS_open, "/nonexistent/dir/file", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	close(-1);
	kill(0x7fffffff, 0);
	syscall(500, 1, 2, 3, 4, 5, 6);          // a number Linux does not have
	syscall(SYS_create_module, "mod", 4096); // removed from Linux: ENOSYS
	syscall(SYS_nfsservctl, 1, 0, 0);

	// Memory.
	char *p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	p[0] = 1;
	mprotect(p, 4096, PROT_READ);
	mprotect(p + 4096, 4096, PROT_NONE);
	madvise(p + 8192, 4096, MADV_DONTNEED);
	munmap(p, 3 * 4096);
	mmap((void *)0x70000000, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	mmap(NULL, 4096, PROT_READ, MAP_SHARED, -1, 0); // EBADF

	// Pipes and descriptors.
	int pf[2], qf[2];
	pipe2(pf, O_CLOEXEC);
	pipe(qf);
	fcntl(pf[0], F_GETFL);
	fcntl(pf[0], F_SETFL, O_NONBLOCK);
	fcntl(pf[0], F_GETFL);
	fcntl(pf[1], F_GETFD);
	fcntl(qf[1], F_SETFD, FD_CLOEXEC);
	int d = fcntl(qf[1], F_DUPFD_CLOEXEC, 10);
	close(d);
	char buf[64];
	read(pf[0], buf, sizeof buf); // EAGAIN
	d = dup(pf[1]);
	dup2(d, 20);
	dup3(20, 21, O_CLOEXEC);
	close(20);
	close(21);
	close(d);
	struct iovec iov[2] = {{"ab", 2}, {"c\td\n", 4}};
	writev(pf[1], iov, 2);
	char x[2], y[4];
	struct iovec riov[2] = {{x, 2}, {y, 4}};
	readv(pf[0], riov, 2);
	lseek(pf[0], 0, SEEK_SET);
	ioctl(pf[0], TCGETS, buf);
	write(pf[1], "\0\1\0027bin\377\n", 9);
	read(pf[0], buf, sizeof buf);
	write(pf[1], "0123456789abcdefghijklmnopqrstuvwxyzABCDEF", 42);
	read(pf[0], buf, sizeof buf);
	fcntl(pf[0], F_SETFL, 0);

	// Identity, limits, the task.
	getpid();
	gettid();
	uid_t r, e, s;
	getresuid(&r, &e, &s);
	setresuid(-1, -1, -1);
	struct rlimit rl = {0, 0};
	setrlimit(RLIMIT_CORE, &rl);
	getrlimit(RLIMIT_CORE, &rl);
	unshare(CLONE_NEWUTS);
	sethostname("strace-tour", 11);
	struct utsname u;
	uname(&u);
	prctl(PR_SET_NAME, "tour-name");
	char name[16];
	prctl(PR_GET_NAME, name);
	prctl(PR_SET_DUMPABLE, 1);
	prctl(PR_GET_DUMPABLE);
	unsigned long fs;
	syscall(SYS_arch_prctl, ARCH_GET_FS, &fs);
	sched_yield();

	// Signals to handlers.
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sa.sa_flags = SA_RESTART;
	sigaddset(&sa.sa_mask, SIGUSR2);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_flags = SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	struct sigaction osa;
	sigaction(SIGUSR2, &sa, &osa);
	static char altstack[65536];
	stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
	sigaltstack(&ss, NULL);
	sigaltstack(NULL, &ss);
	kill(getpid(), SIGUSR1);
	syscall(SYS_tgkill, getpid(), gettid(), SIGUSR2);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, &old);
	raise(SIGUSR1);
	sigpending(&set);
	sigprocmask(SIG_SETMASK, &old, NULL); // the pending SIGUSR1 is delivered
	signal(SIGUSR2, SIG_IGN);

	// A child that talks over pipes and exits with a status; the parent
	// sleeps in read and wait4 meanwhile.
	pid_t c = fork();
	if (c == 0) {
		setpgid(0, 0);
		getpgid(0);
		getppid();
		write(qf[1], "ping", 4);
		read(pf[0], buf, 4);
		_exit(3);
	}
	read(qf[0], buf, 4);
	write(pf[1], "pong", 4);
	int st;
	wait4(c, &st, 0, NULL);

	// A child killed by a signal it sends itself.
	c = fork();
	if (c == 0) {
		kill(getpid(), SIGTERM);
		_exit(1);
	}
	waitpid(c, &st, 0);

	// A child killed by a fault.
	c = fork();
	if (c == 0) {
		*(volatile int *)0 = 1;
		_exit(1);
	}
	waitpid(c, &st, __WALL);

	// vfork, raw clone and clone3.
	c = vfork();
	if (c == 0)
		_exit(7);
	waitpid(c, &st, 0);
	pid_t ptid = 0;
	c = syscall(SYS_clone, CLONE_PARENT_SETTID | SIGCHLD, NULL, &ptid, NULL, NULL);
	if (c == 0)
		syscall(SYS_exit_group, 0);
	int pfd = syscall(SYS_pidfd_open, c, 0);
	close(pfd);
	wait4(-1, NULL, 0, NULL);
	struct clone_args ca = {.exit_signal = SIGCHLD};
	c = syscall(SYS_clone3, &ca, sizeof ca);
	if (c == 0)
		syscall(SYS_exit_group, 5);
	wait4(c, &st, __WALL, NULL);
	wait4(-1, &st, WNOHANG, NULL); // ECHILD

	struct timespec ts = {0, 1000000};
	nanosleep(&ts, NULL);
	write(1, "done\n", 5);
	return 0;
}
