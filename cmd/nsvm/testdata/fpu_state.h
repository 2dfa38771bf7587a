// fpu_state.h: loading, storing and comparing the complete user FPU and
// vector state, shared by fpu_inherit.c and fpu_isolate.c (included,
// not compiled on its own).

// One register image. The assembly below hard-codes these offsets.
struct fstate {
	unsigned char z[32][64]; // zmm0-31 (xmm = low 16 bytes, ymm = low 32)
	uint64_t k[8];           // k0-7 (low 16 bits only without AVX512BW)
	uint32_t mxcsr;
	uint16_t fcw;
	uint16_t pad0;
	uint64_t pad1;
	unsigned char st0[16]; // 80-bit x87 st(0)
	unsigned char st1[16]; // 80-bit x87 st(1)
	unsigned char pad2[16];
} __attribute__((aligned(64)));

_Static_assert(offsetof(struct fstate, k) == 2048, "k");
_Static_assert(offsetof(struct fstate, mxcsr) == 2112, "mxcsr");
_Static_assert(offsetof(struct fstate, fcw) == 2116, "fcw");
_Static_assert(offsetof(struct fstate, st0) == 2128, "st0");
_Static_assert(offsetof(struct fstate, st1) == 2144, "st1");

// Control block for fpu_fork. The assembly hard-codes these offsets.
struct ctl {
	uint64_t level;        //   0: 0 sse, 1 avx, 2 avx512f, 3 avx512f+bw
	struct fstate *a;      //   8: loaded before the syscall
	struct fstate *b;      //  16: loaded by the clobbering side (modes 1, 2)
	struct fstate *cdump;  //  24: where the child stores its registers
	struct fstate *pdump;  //  32: where the parent stores its registers
	uint64_t mode;         //  40: 0 plain, 1 child clobbers, 2 parent clobbers
	uint64_t rfd;          //  48: pipe read end (mode 2, child)
	uint64_t wfd;          //  56: pipe write end (mode 2, parent)
	int *status;           //  64: wait4 status (modes 1, 2)
	char *buf;             //  72: one byte for the pipe
	uint64_t nr;           //  80: syscall number: 57 fork, 56 clone, 435 clone3
	uint64_t arg1;         //  88: rdi
	uint64_t arg2;         //  96: rsi
	int64_t waitret;       // 104: wait4's return value (modes 1, 2)
	uint32_t savemx;       // 112
	uint16_t savecw;       // 116
	uint16_t pad;
};

_Static_assert(offsetof(struct ctl, waitret) == 104, "waitret");
_Static_assert(offsetof(struct ctl, savemx) == 112, "savemx");
_Static_assert(offsetof(struct ctl, savecw) == 116, "savecw");

// long fpu_fork(struct ctl *c): load c->a, do syscall c->nr, then
//   child:  mode 1: load c->b and sched_yield(); mode 2: read(rfd, buf, 1);
//           store registers to c->cdump.
//   parent: mode 2: load c->b and write(wfd, buf, 1);
//           modes 1, 2: wait4(pid, status, 0, 0) into c->waitret;
//           store registers to c->pdump.
// Returns the syscall's result with the caller's MXCSR and FCW restored.
__asm__(
	".text\n"
	".type fpu_load_regs,@function\n"
	"fpu_load_regs:\n" // rsi = state, r12 = level
	"	fninit\n"
	"	fldcw 2116(%rsi)\n"
	"	fldt 2144(%rsi)\n"
	"	fldt 2128(%rsi)\n"
	"	ldmxcsr 2112(%rsi)\n"
	"	cmp $2, %r12\n"
	"	jae 2f\n"
	"	cmp $1, %r12\n"
	"	jae 1f\n"
	"	.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
	"	movdqu \\i*64(%rsi), %xmm\\i\n"
	"	.endr\n"
	"	ret\n"
	"1:\n"
	"	.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
	"	vmovdqu \\i*64(%rsi), %ymm\\i\n"
	"	.endr\n"
	"	ret\n"
	"2:\n"
	"	.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
	"	vmovdqu64 \\i*64(%rsi), %zmm\\i\n"
	"	.endr\n"
	"	cmp $3, %r12\n"
	"	jae 3f\n"
	"	.irp i,0,1,2,3,4,5,6,7\n"
	"	kmovw 2048+\\i*8(%rsi), %k\\i\n"
	"	.endr\n"
	"	ret\n"
	"3:\n"
	"	.irp i,0,1,2,3,4,5,6,7\n"
	"	kmovq 2048+\\i*8(%rsi), %k\\i\n"
	"	.endr\n"
	"	ret\n"
	".size fpu_load_regs, .-fpu_load_regs\n"

	".type fpu_store_regs,@function\n"
	"fpu_store_regs:\n" // rdi = state, r12 = level
	"	fnstcw 2116(%rdi)\n"
	"	stmxcsr 2112(%rdi)\n"
	"	fstpt 2128(%rdi)\n"
	"	fstpt 2144(%rdi)\n"
	"	cmp $2, %r12\n"
	"	jae 2f\n"
	"	cmp $1, %r12\n"
	"	jae 1f\n"
	"	.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
	"	movdqu %xmm\\i, \\i*64(%rdi)\n"
	"	.endr\n"
	"	ret\n"
	"1:\n"
	"	.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
	"	vmovdqu %ymm\\i, \\i*64(%rdi)\n"
	"	.endr\n"
	"	vzeroupper\n"
	"	ret\n"
	"2:\n"
	"	.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
	"	vmovdqu64 %zmm\\i, \\i*64(%rdi)\n"
	"	.endr\n"
	"	cmp $3, %r12\n"
	"	jae 3f\n"
	"	.irp i,0,1,2,3,4,5,6,7\n"
	"	kmovw %k\\i, 2048+\\i*8(%rdi)\n"
	"	.endr\n"
	"	vzeroupper\n"
	"	ret\n"
	"3:\n"
	"	.irp i,0,1,2,3,4,5,6,7\n"
	"	kmovq %k\\i, 2048+\\i*8(%rdi)\n"
	"	.endr\n"
	"	vzeroupper\n"
	"	ret\n"
	".size fpu_store_regs, .-fpu_store_regs\n"

	".type fpu_fork,@function\n"
	"fpu_fork:\n"
	"	push %rbx\n"
	"	push %r12\n"
	"	push %r13\n"
	"	push %r14\n"
	"	mov %rdi, %rbx\n"
	"	mov 0(%rbx), %r12\n"
	"	fnstcw 116(%rbx)\n"
	"	stmxcsr 112(%rbx)\n"
	"	mov 8(%rbx), %rsi\n"
	"	call fpu_load_regs\n"
	"	mov 80(%rbx), %rax\n"
	"	mov 88(%rbx), %rdi\n"
	"	mov 96(%rbx), %rsi\n"
	"	xor %edx, %edx\n"
	"	xor %r10d, %r10d\n"
	"	xor %r8d, %r8d\n"
	"	syscall\n"
	"	mov %rax, %r13\n"
	"	test %rax, %rax\n"
	"	js 8f\n"
	"	jnz 5f\n"
	// child
	"	cmpq $1, 40(%rbx)\n"
	"	jne 1f\n"
	"	mov 16(%rbx), %rsi\n"
	"	call fpu_load_regs\n"
	"	mov $24, %eax\n" // sched_yield
	"	syscall\n"
	"1:\n"
	"	cmpq $2, 40(%rbx)\n"
	"	jne 2f\n"
	"	xor %eax, %eax\n" // read(rfd, buf, 1)
	"	mov 48(%rbx), %rdi\n"
	"	mov 72(%rbx), %rsi\n"
	"	mov $1, %edx\n"
	"	syscall\n"
	"2:\n"
	"	mov 24(%rbx), %rdi\n"
	"	call fpu_store_regs\n"
	"	jmp 9f\n"
	// parent
	"5:\n"
	"	cmpq $2, 40(%rbx)\n"
	"	jne 6f\n"
	"	mov 16(%rbx), %rsi\n"
	"	call fpu_load_regs\n"
	"	mov $1, %eax\n" // write(wfd, buf, 1)
	"	mov 56(%rbx), %rdi\n"
	"	mov 72(%rbx), %rsi\n"
	"	mov $1, %edx\n"
	"	syscall\n"
	"6:\n"
	"	cmpq $0, 40(%rbx)\n"
	"	je 7f\n"
	"	mov $61, %eax\n" // wait4(pid, status, 0, NULL)
	"	mov %r13, %rdi\n"
	"	mov 64(%rbx), %rsi\n"
	"	xor %edx, %edx\n"
	"	xor %r10d, %r10d\n"
	"	syscall\n"
	"	mov %rax, 104(%rbx)\n"
	"7:\n"
	"	mov 32(%rbx), %rdi\n"
	"	call fpu_store_regs\n"
	"	jmp 9f\n"
	"8:\n" // syscall failed
	"	fninit\n"
	"9:\n"
	"	fldcw 116(%rbx)\n"
	"	ldmxcsr 112(%rbx)\n"
	"	mov %r13, %rax\n"
	"	pop %r14\n"
	"	pop %r13\n"
	"	pop %r12\n"
	"	pop %rbx\n"
	"	ret\n"
	".size fpu_fork, .-fpu_fork\n");

long fpu_fork(struct ctl *c);

static int level;
static const char *level_sets[] = {"x87 sse", "x87 sse avx", "x87 sse avx avx512(k 16-bit)",
				   "x87 sse avx avx512(k 64-bit)"};

static uint64_t xgetbv0(void) {
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

static void detect(void) {
	uint32_t r[4];
	cpuid(0, 0, r);
	uint32_t maxleaf = r[0];
	cpuid(1, 0, r);
	int osxsave = (r[2] >> 27) & 1, avx = (r[2] >> 28) & 1;
	uint64_t xcr0 = osxsave ? xgetbv0() : 0;
	int avx512f = 0, avx512bw = 0;
	if (maxleaf >= 7) {
		cpuid(7, 0, r);
		avx512f = (r[1] >> 16) & 1;
		avx512bw = (r[1] >> 30) & 1;
	}
	level = 0;
	if (avx && (xcr0 & 6) == 6) {
		level = 1;
		if (avx512f && (xcr0 & 0xe6) == 0xe6)
			level = avx512bw ? 3 : 2;
	}
}

static uint64_t rng;
static uint64_t next(void) {
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

// fill makes a distinctive image from seed; variant selects MXCSR/FCW/x87.
static void fill(struct fstate *s, uint64_t seed, int variant) {
	memset(s, 0, sizeof *s);
	rng = seed * 0x9e3779b97f4a7c15ull + 1;
	for (int i = 0; i < 32; i++)
		for (int j = 0; j < 64; j += 8) {
			uint64_t v = next();
			memcpy(&s->z[i][j], &v, 8);
		}
	for (int i = 0; i < 8; i++)
		s->k[i] = level == 3 ? next() : (next() & 0xffff);
	long double a, b;
	if (variant == 0) {
		s->mxcsr = 0x1f80 ^ 0x6000 ^ 0x8000 ^ 0x21; // RC=toward zero, FZ, IE+PE flags
		s->fcw = 0x027f;                             // PC=double
		a = 3.25L;
		b = -1234.5L;
	} else {
		s->mxcsr = 0x1f80 ^ 0x2000 ^ 0x12; // RC=down, DE+UE flags
		s->fcw = 0x0e7f;                   // RC=toward zero, PC=double
		a = 7.75L;
		b = 42.0L;
	}
	a += (long double)(seed % 16);
	memcpy(s->st0, &a, 10);
	memcpy(s->st1, &b, 10);
}

static void hex(const unsigned char *p, int n, char *out) {
	for (int i = n - 1; i >= 0; i--) // most significant byte first
		out += sprintf(out, "%02x", p[i]);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

// check compares the parts of got that this CPU has against want, prints
// a report for who, and returns the number of mismatching registers.
static int check(const char *who, const struct fstate *got, const struct fstate *want) {
	int bad = 0, shown = 0;
	char g[160], w[160];
	uint64_t h = 0xcbf29ce484222325ull;
#define MISMATCH(name, idx, gp, wp, n)                                              \
	do {                                                                        \
		bad++;                                                              \
		if (shown++ < 8) {                                                  \
			hex(gp, n, g);                                              \
			hex(wp, n, w);                                              \
			printf("  %s: %s%d differs: got %s want %s\n", who, name, idx, g, w); \
		}                                                                   \
	} while (0)
	if (got->fcw != want->fcw)
		MISMATCH("fcw", 0, (const unsigned char *)&got->fcw, (const unsigned char *)&want->fcw, 2);
	if (got->mxcsr != want->mxcsr)
		MISMATCH("mxcsr", 0, (const unsigned char *)&got->mxcsr, (const unsigned char *)&want->mxcsr, 4);
	if (memcmp(got->st0, want->st0, 10))
		MISMATCH("st", 0, got->st0, want->st0, 10);
	if (memcmp(got->st1, want->st1, 10))
		MISMATCH("st", 1, got->st1, want->st1, 10);
	h = fnv(h, &got->fcw, 2);
	h = fnv(h, &got->mxcsr, 4);
	h = fnv(h, got->st0, 10);
	h = fnv(h, got->st1, 10);
	int xbad = 0, ybad = 0, zbad = 0, hbad = 0, kbad = 0;
	for (int i = 0; i < 16; i++) {
		if (memcmp(got->z[i], want->z[i], 16)) {
			xbad++;
			MISMATCH("xmm", i, got->z[i], want->z[i], 16);
		}
		h = fnv(h, got->z[i], 16);
	}
	if (level >= 1)
		for (int i = 0; i < 16; i++) {
			if (memcmp(got->z[i] + 16, want->z[i] + 16, 16)) {
				ybad++;
				MISMATCH("ymm(hi128)", i, got->z[i] + 16, want->z[i] + 16, 16);
			}
			h = fnv(h, got->z[i] + 16, 16);
		}
	if (level >= 2) {
		for (int i = 0; i < 16; i++) {
			if (memcmp(got->z[i] + 32, want->z[i] + 32, 32)) {
				zbad++;
				MISMATCH("zmm(hi256)", i, got->z[i] + 32, want->z[i] + 32, 32);
			}
			h = fnv(h, got->z[i] + 32, 32);
		}
		for (int i = 16; i < 32; i++) {
			if (memcmp(got->z[i], want->z[i], 64)) {
				hbad++;
				MISMATCH("zmm", i, got->z[i], want->z[i], 64);
			}
			h = fnv(h, got->z[i], 64);
		}
		int kn = level == 3 ? 8 : 2;
		for (int i = 0; i < 8; i++) {
			if (memcmp(&got->k[i], &want->k[i], kn)) {
				kbad++;
				MISMATCH("k", i, (const unsigned char *)&got->k[i], (const unsigned char *)&want->k[i], kn);
			}
			h = fnv(h, &got->k[i], kn);
		}
	}
#undef MISMATCH
	long double st0, st1;
	memset(&st0, 0, sizeof st0);
	memset(&st1, 0, sizeof st1);
	memcpy(&st0, got->st0, 10);
	memcpy(&st1, got->st1, 10);
	printf("  %s: fcw=%#06x mxcsr=%#06x st0=%.2Lf st1=%.2Lf\n", who, got->fcw, got->mxcsr, st0, st1);
	printf("  %s: xmm0-15 %s", who, xbad ? "DIFFER" : "ok");
	if (level >= 1)
		printf(", ymm0-15 upper %s", ybad ? "DIFFER" : "ok");
	if (level >= 2)
		printf(", zmm0-15 upper %s, zmm16-31 %s, k0-7 %s", zbad ? "DIFFER" : "ok", hbad ? "DIFFER" : "ok",
		       kbad ? "DIFFER" : "ok");
	printf("\n  %s: digest %016llx\n", who, (unsigned long long)h);
	return bad;
}

