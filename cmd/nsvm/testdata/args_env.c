/*
 * args_env.c: prints argc, every argv element (argv[0] included: nsvm
 * passes PROG as given, so it is the same path natively and in the VM),
 * and the environment entries whose name starts with NSVM_, sorted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static int cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int main(int argc, char **argv)
{
	char **e, **list;
	size_t n = 0, total = 0, i;
	int k;

	printf("argc=%d\n", argc);
	for (k = 0; k < argc; k++)
		printf("argv[%d]=\"%s\" (%zu bytes)\n", k, argv[k], strlen(argv[k]));
	printf("argv[argc]=%s\n", argv[argc] == NULL ? "NULL" : "not NULL");

	for (e = environ; *e != NULL; e++)
		total++;
	list = calloc(total + 1, sizeof *list);
	if (list == NULL)
		return 1;
	for (e = environ; *e != NULL; e++)
		if (strncmp(*e, "NSVM_", 5) == 0)
			list[n++] = *e;
	qsort(list, n, sizeof *list, cmp);
	printf("NSVM_ entries: %zu\n", n);
	for (i = 0; i < n; i++)
		printf("  %s\n", list[i]);
	printf("environ has entries: %s\n", total > n ? "yes" : "no");
	return 0;
}
