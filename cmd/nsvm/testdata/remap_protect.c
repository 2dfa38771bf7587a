// remap_protect: the guest must see page-table changes at once. A page is
// written, unmapped, mapped again (fresh zero page expected), made
// read-only, and written: that write must fault even though the page was
// writable a moment ago (a stale TLB or shadow page-table entry would
// let it through).
#include <stdio.h>
#include <sys/mman.h>

int main(void) {
	volatile char *p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	p[0] = 42;
	munmap((void *)p, 4096);
	volatile char *q = mmap((void *)p, 4096, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	printf("remapped page reads %d\n", q[0]);
	q[0] = 5;
	mprotect((void *)q, 4096, PROT_READ);
	printf("read-only page reads %d\n", q[0]);
	printf("writing to the read-only page\n");
	fflush(stdout);
	q[0] = 7;
	printf("the write went through\n");
	return 0;
}
