/*
 * spin.c: prints one line and spins forever without making system calls.
 * Only run under nsvm with --timeout: nsvm must stop it (status 124).
 */
#include <stdio.h>

int main(void)
{
	printf("spinning\n");
	fflush(stdout);
	for (;;) {
	}
}
