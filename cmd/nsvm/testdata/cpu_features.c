// cpu_features: what the CPU offers user code, and proof that the vector
// state the kernel enabled really works. Under nsvm the guest CPUID and
// XCR0 are composed from the host's, so the answers must match a native
// run on the same machine.
#include <cpuid.h>
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>

static uint64_t xgetbv0(void) {
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

__attribute__((target("avx2"))) static long avx2_sum(void) {
	__m256i a = _mm256_set_epi32(1, 2, 3, 4, 5, 6, 7, 8);
	__m256i b = _mm256_mullo_epi32(a, a);
	int out[8];
	_mm256_storeu_si256((__m256i *)out, b);
	long s = 0;
	for (int i = 0; i < 8; i++) s += out[i];
	return s;
}

__attribute__((target("avx512f"))) static long avx512_sum(void) {
	__m512i a = _mm512_set1_epi64(3);
	__m512i b = _mm512_set_epi64(1, 2, 3, 4, 5, 6, 7, 8);
	__mmask8 k = 0x5a;
	__m512i c = _mm512_mask_add_epi64(a, k, a, b);
	return _mm512_reduce_add_epi64(c);
}

int main(void) {
	unsigned a, b, c, d;
	__cpuid(1, a, b, c, d);
	int osxsave = (c >> 27) & 1;
	printf("osxsave=%d\n", osxsave);
	if (osxsave)
		printf("xcr0(user bits)=%#llx\n", (unsigned long long)(xgetbv0() & 0xe7));
#define FEAT(f) printf("%s=%d\n", f, __builtin_cpu_supports(f) ? 1 : 0)
	FEAT("sse2");
	FEAT("sse4.2");
	FEAT("avx");
	FEAT("avx2");
	FEAT("fma");
	FEAT("avx512f");
	FEAT("avx512bw");
	FEAT("avx512vl");
	FEAT("avx512dq");
	if (__builtin_cpu_supports("avx2"))
		printf("avx2 sum=%ld\n", avx2_sum());
	if (__builtin_cpu_supports("avx512f"))
		printf("avx512 sum=%ld\n", avx512_sum());
	return 0;
}
