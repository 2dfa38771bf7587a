// threads: pthreads (clone3/clone with CLONE_VM|FS|FILES|SIGHAND|THREAD|
// SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID, then futex): 4 threads add
// to a shared counter under a mutex, meet at a barrier while all alive,
// check their TLS is private, and return values to pthread_join. getpid()
// is the same in all threads, gettid() differs; no ids are printed. At the
// end a thread calls exit(5), which ends the process with status 5.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define N 4
#define ITER 1000

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t bar;
static long counter;
static pid_t pids[N + 1], tids[N + 1];
static __thread int tls_var = -1;
static int tls_ok[N];

static pthread_mutex_t cmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int turn; // threads append to order[] strictly in index order
static char order[N + 1];

static const char *yesno(int b) { return b ? "yes" : "no"; }

static void *worker(void *arg) {
	int i = (int)(intptr_t)arg;
	tls_var = i * 7;
	pids[i] = getpid();
	tids[i] = gettid();
	// All threads are alive at once here, so their tids must differ.
	pthread_barrier_wait(&bar);
	for (int k = 0; k < ITER; k++) {
		pthread_mutex_lock(&mu);
		counter++;
		pthread_mutex_unlock(&mu);
		if (k % 100 == 0)
			sched_yield();
	}
	// Condition variable: take turns in index order.
	pthread_mutex_lock(&cmu);
	while (turn != i)
		pthread_cond_wait(&cv, &cmu);
	order[i] = (char)('a' + i);
	turn++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&cmu);
	pthread_barrier_wait(&bar);
	tls_ok[i] = tls_var == i * 7;
	return (void *)(intptr_t)(100 + i * i);
}

static void *exiter(void *arg) {
	(void)arg;
	pthread_exit((void *)(intptr_t)42);
}

static void *group_exiter(void *arg) {
	(void)arg;
	exit(5);
}

int main(void) {
	pthread_t th[N];
	tls_var = 99;
	pids[N] = getpid();
	tids[N] = gettid();
	if (pthread_barrier_init(&bar, NULL, N)) {
		printf("barrier init failed\n");
		return 1;
	}
	for (int i = 0; i < N; i++) {
		int e = pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
		if (e) {
			printf("pthread_create %d failed: %s\n", i, strerror(e));
			return 1;
		}
	}
	long rets[N];
	for (int i = 0; i < N; i++) {
		void *r;
		int e = pthread_join(th[i], &r);
		rets[i] = e ? -e : (long)(intptr_t)r;
	}
	printf("counter: %ld (want %d)\n", counter, N * ITER);
	printf("return values:");
	for (int i = 0; i < N; i++)
		printf(" %ld", rets[i]);
	printf("\n");
	printf("turn order: %s\n", order);
	int samepid = 1, distinct = 1, tls = 1;
	for (int i = 0; i <= N; i++) {
		samepid &= pids[i] == pids[N];
		for (int j = 0; j < i; j++)
			distinct &= tids[i] != tids[j];
	}
	for (int i = 0; i < N; i++)
		tls &= tls_ok[i];
	printf("getpid() equal in all threads: %s\n", yesno(samepid));
	printf("distinct tids: %s\n", yesno(distinct));
	printf("main thread tid == pid: %s\n", yesno(tids[N] == pids[N]));
	printf("TLS private per thread: %s\n", yesno(tls && tls_var == 99));
	// pthread_exit with a value.
	pthread_t t;
	void *r = NULL;
	pthread_create(&t, NULL, exiter, NULL);
	int e = pthread_join(t, &r);
	printf("pthread_exit value: %ld (join %s)\n", (long)(intptr_t)r, e ? strerror(e) : "ok");
	// exit() in a second thread ends the whole process (exit_group) while
	// the main thread is blocked joining it: the status is the thread's.
	printf("a thread calls exit(5) while main joins it\n");
	fflush(stdout);
	pthread_create(&t, NULL, group_exiter, NULL);
	pthread_join(t, NULL);
	printf("not reached\n");
	return 0;
}
