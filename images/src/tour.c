/*
 * tour.c: the default nsvm image ("nsvm run" with no program). A short
 * tour of what nsvm is for, in four steps:
 *
 *   1. fork with live x87/SSE/AVX state: the child finds the parent's
 *      registers, and the child's changes never reach the parent;
 *   2. clone(CLONE_NEWPID|CLONE_NEWUTS|CLONE_NEWIPC): the child is pid 1,
 *      its hostname is its own, and its /proc/self/ns links differ from
 *      the parent's for exactly those namespaces;
 *   3. fail-nth: one allocation inside a clone fails through
 *      /proc/thread-self/fail-nth, and the retry succeeds;
 *   4. where to go next.
 *
 * It is an ordinary static program: run natively as root it prints the
 * same lines for steps 1, 2 and 4. Step 3 needs a kernel built with fault
 * injection; without /proc/thread-self/fail-nth it says so instead. The
 * output is deterministic: no pids (other than the namespace's 1),
 * addresses, times, host names or nsfs inode numbers, only relations.
 *
 * It uses only what nsvm implements: fork, clone, wait4, mmap(MAP_SHARED),
 * uname, sethostname, readlink and open/read/write of /proc files.
 *
 * Exit status: 0, or 1 when a check printed "NO".
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static int bad; // checks that printed "NO"

static const char *verdict(int ok)
{
	if (!ok)
		bad = 1;
	return ok ? "yes" : "NO";
}

/* ---- 1. fork with live FPU state ------------------------------------ */

// The register image: x87 st0 and st1, then ymm0-15 (xmm i is the low
// half of ymm i). The assembly below hard-codes the offsets.
struct fpu {
	long double st[2]; //  0, 16: 80-bit values (fldt/fstpt)
	double v[16][4];   // 32 + 32*i: ymm i
};
_Static_assert(sizeof(long double) == 16, "long double");
_Static_assert(offsetof(struct fpu, v) == 32, "v");

// long fpu_fork(load, clobber, cdump, pdump, avx): load the registers from
// *load, fork. The child stores what it finds to *cdump, loads *clobber,
// gives the CPU away (sched_yield) and exits. The parent waits for it, then
// stores its own registers to *pdump. No C code runs between the load and
// the stores, so nothing but the kernel can change the registers. Returns
// fork's result (the child's pid, or -errno).
long fpu_fork(const struct fpu *load, const struct fpu *clobber, struct fpu *cdump,
	      struct fpu *pdump, long avx);
__asm__(
	".text\n"
	"fpu_load:\n" // rsi = image, rbp = avx
	"	fninit\n"
	"	fldt 16(%rsi)\n"
	"	fldt 0(%rsi)\n"
	"	test %rbp, %rbp\n"
	"	jz 1f\n"
	"	.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
	"	vmovupd 32+\\i*32(%rsi), %ymm\\i\n"
	"	.endr\n"
	"	ret\n"
	"1:\n"
	"	.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
	"	movupd 32+\\i*32(%rsi), %xmm\\i\n"
	"	.endr\n"
	"	ret\n"
	"fpu_store:\n" // rdi = image, rbp = avx; pops the x87 stack
	"	fstpt 0(%rdi)\n"
	"	fstpt 16(%rdi)\n"
	"	test %rbp, %rbp\n"
	"	jz 1f\n"
	"	.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
	"	vmovupd %ymm\\i, 32+\\i*32(%rdi)\n"
	"	.endr\n"
	"	vzeroupper\n"
	"	ret\n"
	"1:\n"
	"	.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
	"	movupd %xmm\\i, 32+\\i*32(%rdi)\n"
	"	.endr\n"
	"	ret\n"
	".globl fpu_fork\n"
	".type fpu_fork,@function\n"
	"fpu_fork:\n"
	"	push %rbx\n"
	"	push %rbp\n"
	"	push %r12\n"
	"	push %r13\n"
	"	push %r14\n"
	"	push %r15\n"
	"	mov %rsi, %r13\n"
	"	mov %rdx, %r14\n"
	"	mov %rcx, %r15\n"
	"	mov %r8, %rbp\n"
	"	mov %rdi, %rsi\n"
	"	call fpu_load\n"
	"	mov $57, %eax\n" // fork
	"	syscall\n"
	"	test %rax, %rax\n"
	"	jnz 2f\n"
	"	mov %r14, %rdi\n" // child
	"	call fpu_store\n"
	"	mov %r13, %rsi\n"
	"	call fpu_load\n"
	"	mov $24, %eax\n" // sched_yield, with the changed registers live
	"	syscall\n"
	"	mov $231, %eax\n" // exit_group(0)
	"	xor %edi, %edi\n"
	"	syscall\n"
	"	ud2\n"
	"2:\n"
	"	js 3f\n"
	"	mov %rax, %rbx\n" // parent: wait4(pid, NULL, 0, NULL)
	"	mov %rax, %rdi\n"
	"	xor %esi, %esi\n"
	"	xor %edx, %edx\n"
	"	xor %r10d, %r10d\n"
	"	mov $61, %eax\n"
	"	syscall\n"
	"	mov %r15, %rdi\n"
	"	call fpu_store\n"
	"	mov %rbx, %rax\n"
	"	jmp 4f\n"
	"3:\n" // fork failed: leave the x87 stack empty
	"	fninit\n"
	"4:\n"
	"	pop %r15\n"
	"	pop %r14\n"
	"	pop %r13\n"
	"	pop %r12\n"
	"	pop %rbp\n"
	"	pop %rbx\n"
	"	ret\n"
	".size fpu_fork, .-fpu_fork\n");

// have_avx: CPUID says AVX and OSXSAVE, and the OS enabled SSE and AVX
// state in XCR0.
static int have_avx(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE) || !(c & bit_AVX))
		return 0;
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (lo & 6) == 6;
}

// same_regs compares the registers of two images: 10 bytes of each x87
// value, 32 (AVX) or 16 (SSE) bytes of each vector register.
static int same_regs(const struct fpu *x, const struct fpu *y, int avx)
{
	for (int i = 0; i < 2; i++)
		if (memcmp(&x->st[i], &y->st[i], 10))
			return 0;
	for (int i = 0; i < 16; i++)
		if (memcmp(x->v[i], y->v[i], avx ? 32 : 16))
			return 0;
	return 1;
}

// vec prints register 15 of an image: 4 doubles (ymm) or 2 (xmm).
static void vec(const struct fpu *f, int avx)
{
	printf("%s15 = {%g %g", avx ? "ymm" : "xmm", f->v[15][0], f->v[15][1]);
	if (avx)
		printf(" %g %g", f->v[15][2], f->v[15][3]);
	printf("}");
}

static void step_fpu(void)
{
	int avx = have_avx();
	static struct fpu load, clobber, pdump;
	struct fpu *cdump = mmap(NULL, sizeof *cdump, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (avx)
		printf("1. fork() with live x87/SSE/AVX registers, loaded just before fork and read back by\n"
		       "   both sides: the child gets a copy of the parent's XSAVE image\n");
	else
		printf("1. fork() with live x87/SSE registers (this CPU has no AVX), loaded just before fork\n"
		       "   and read back by both sides: the child gets a copy of the parent's XSAVE image\n");
	if (cdump == MAP_FAILED) {
		printf("   mmap(MAP_SHARED): %s\n", strerrorname_np(errno));
		bad = 1;
		return;
	}
	load.st[0] = 3.14159265358979323846L;
	load.st[1] = 2.71828182845904523536L;
	clobber.st[0] = -1;
	clobber.st[1] = -2;
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < 4; j++) {
			load.v[i][j] = i + (j + 1) / 4.0;
			clobber.v[i][j] = -load.v[i][j];
		}
	memset(cdump, 0, sizeof *cdump);

	fflush(stdout);
	long pid = fpu_fork(&load, &clobber, cdump, &pdump, avx);
	if (pid < 0) {
		printf("   fork: %s\n", strerrorname_np(-pid));
		bad = 1;
		return;
	}
	printf("   child:  st0 = %Lg, ", cdump->st[0]);
	vec(cdump, avx);
	printf(": all 18 registers as the parent's: %s\n", verdict(same_regs(cdump, &load, avx)));
	printf("   parent: still its own after the child set st0 = %Lg, ", clobber.st[0]);
	vec(&clobber, avx);
	printf(": %s\n", verdict(same_regs(&pdump, &load, avx)));
	munmap(cdump, sizeof *cdump);
}

/* ---- 2. clone into new namespaces ----------------------------------- */

#define NSFLAGS (CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC)
#define NSFLAGS_NAME "CLONE_NEWPID|CLONE_NEWUTS|CLONE_NEWIPC"
#define CHILD_HOSTNAME "tour-child"

static const char *const nsnames[] = {
	"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children",
	"time", "time_for_children", "user", "uts",
};
#define NNS (sizeof nsnames / sizeof nsnames[0])

struct nslinks {
	char link[NNS][64]; // "" when missing
};

static void read_links(struct nslinks *l)
{
	for (size_t i = 0; i < NNS; i++) {
		char path[64];
		snprintf(path, sizeof path, "/proc/self/ns/%s", nsnames[i]);
		ssize_t n = readlink(path, l->link[i], sizeof l->link[i] - 1);
		l->link[i][n > 0 ? n : 0] = 0;
	}
}

// What the child of step 2 reports, in a MAP_SHARED page.
struct report {
	long pid;            // getpid() in the child
	int sethostname_err; // errno, 0 if it worked
	char nodename[65];   // uname() after sethostname
	struct nslinks links;
};

static long clone_ns(void)
{
	return syscall(SYS_clone, NSFLAGS | SIGCHLD, 0, NULL, NULL, 0);
}

// errname prints "EPERM (Operation not permitted)".
static const char *errname(int e)
{
	static char buf[128];
	snprintf(buf, sizeof buf, "%s (%s)", strerrorname_np(e), strerror(e));
	return buf;
}

static void step_ns(void)
{
	struct utsname before, after;
	static struct nslinks parent;
	struct report *r = mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	printf("2. clone(" NSFLAGS_NAME "): a child in new pid, UTS and IPC namespaces\n");
	if (r == MAP_FAILED) {
		printf("   mmap(MAP_SHARED): %s\n", strerrorname_np(errno));
		bad = 1;
		return;
	}
	memset(r, 0, sizeof *r);
	uname(&before);
	read_links(&parent);
	fflush(stdout);
	long pid = clone_ns();
	if (pid == 0) {
		r->pid = getpid();
		if (sethostname(CHILD_HOSTNAME, strlen(CHILD_HOSTNAME)))
			r->sethostname_err = errno;
		struct utsname u;
		uname(&u);
		memcpy(r->nodename, u.nodename, sizeof r->nodename - 1);
		read_links(&r->links);
		_exit(0);
	}
	if (pid < 0) {
		int e = errno;
		printf("   clone: %s%s\n", errname(e),
		       e == EPERM ? ": new namespaces need CAP_SYS_ADMIN; run as root" : "");
		return;
	}
	int st;
	waitpid(pid, &st, 0);
	uname(&after);

	printf("   child:  getpid() = %ld", r->pid);
	if (r->sethostname_err)
		printf(", sethostname: %s", errname(r->sethostname_err));
	else
		printf(", its hostname is now \"%s\"", r->nodename);
	int uts_ok = strcmp(before.nodename, after.nodename) == 0 && strcmp(after.nodename, CHILD_HOSTNAME) != 0;
	printf("; the parent's is unchanged: %s\n", verdict(r->pid == 1 && !r->sethostname_err &&
							    !strcmp(r->nodename, CHILD_HOSTNAME) && uts_ok));

	// The relations: which links differ, which are the same.
	char differ[256] = "", same[256] = "", missing[256] = "";
	for (size_t i = 0; i < NNS; i++) {
		char *list = !parent.link[i][0] || !r->links.link[i][0] ? missing
			   : strcmp(parent.link[i], r->links.link[i]) ? differ : same;
		if (*list)
			strcat(list, " ");
		strcat(list, nsnames[i]);
	}
	printf("   /proc/self/ns links, child vs parent: differ: %s\n", *differ ? differ : "none");
	printf("                                         same:   %s\n", *same ? same : "none");
	if (*missing)
		printf("                                         missing: %s\n", missing);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		bad = 1;
	munmap(r, sizeof *r);
}

/* ---- 3. fault injection --------------------------------------------- */

#define FAIL_NTH "/proc/thread-self/fail-nth"

static void step_fail(void)
{
	printf("3. fault injection: with 1 written to " FAIL_NTH ", the 1st allocation\n"
	       "   of the next system call fails (as syzkaller does); the same clone, then a retry:\n");
	int fd = open(FAIL_NTH, O_RDWR);
	if (fd < 0) {
		printf("   " FAIL_NTH ": %s: this kernel was built without fault\n"
		       "   injection (CONFIG_FAULT_INJECTION); nsvm's model of Linux always has it\n",
		       strerrorname_np(errno));
		return;
	}
	fflush(stdout);
	// Arm, then make the call at once: every allocation counts down.
	long w = write(fd, "1", 1);
	long pid = w == 1 ? clone_ns() : -1;
	int e = errno;
	if (pid == 0)
		_exit(getpid() == 1 ? 0 : 1);
	char buf[16] = "";
	long n = read(fd, buf, sizeof buf - 1); // offset 0: the write did not move it
	long left = n > 0 ? strtol(buf, NULL, 10) : -1;
	if (write(fd, "0", 1) != 1) // disarm, whatever happened
		bad = 1;
	close(fd);
	if (w != 1) {
		printf("   write(" FAIL_NTH ", \"1\"): %s\n", errname(e));
		bad = 1;
		return;
	}
	if (pid > 0) {
		waitpid(pid, NULL, 0);
		printf("   clone succeeded: no allocation failed (fail-nth reads %ld): %s\n", left, verdict(0));
		return;
	}
	printf("   clone = -1 %s; fail-nth reads %ld: %s\n", errname(e), left,
	       left == 0 ? "the failure was injected" : "NOT injected");
	if (left != 0)
		bad = 1;

	fflush(stdout);
	pid = clone_ns();
	if (pid == 0)
		_exit(getpid() == 1 ? 0 : 1);
	if (pid < 0) {
		printf("   retry: clone = -1 %s: %s\n", errname(errno), verdict(0));
		return;
	}
	int st;
	waitpid(pid, &st, 0);
	printf("   retry: clone succeeded, the child ran as pid 1 and exited 0: %s\n",
	       verdict(WIFEXITED(st) && WEXITSTATUS(st) == 0));
}

int main(void)
{
	printf("nsvm tour: a static x86-64 Linux program; under `nsvm run` each of its system calls\n"
	       "is served by nsvm's Go model of Linux. Natively (images/bin/tour, as root) steps 1 and 2\n"
	       "print the same; step 3 needs a kernel with fault injection.\n\n");
	step_fpu();
	step_ns();
	step_fail();
	printf("4. next: `nsvm bench fork`  fork latency and throughput, nsvm next to the host\n"
	       "         `nsvm ns PROG`     the namespace picture of a run (text, DOT or SVG)\n"
	       "         `nsvm inject --syscall clone:2 PROG`  fail each allocation of one call in turn\n");
	return bad;
}
