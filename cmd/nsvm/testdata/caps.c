// caps: capget(2)/capset(2) argument handling and the capset rules
// (kernel/capability.c, cap_capset): the version probe, a bad version,
// bad pointers, a negative or dead pid, the v1 layout, and, in a child,
// dropping and re-raising effective and permitted capabilities. The
// capability values themselves differ between hosts, so only their
// relations are printed.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nstest.h"

static long capget_(struct __user_cap_header_struct *h, struct __user_cap_data_struct *d) {
	return syscall(SYS_capget, h, d);
}

static long capset_(struct __user_cap_header_struct *h, struct __user_cap_data_struct *d) {
	return syscall(SYS_capset, h, d);
}

static struct __user_cap_header_struct hdr(uint32_t version, int pid) {
	struct __user_cap_header_struct h = {.version = version, .pid = pid};
	return h;
}

// CHECK runs call, then reads errno (a function argument list would not
// order the two).
#define CHECK(name, call, want) \
	do { \
		long r_ = (call); \
		check(name, r_, errno, want); \
	} while (0)

static uint64_t word2(uint32_t lo, uint32_t hi) { return (uint64_t)hi << 32 | lo; }

// child drops CAP_SYS_ADMIN from its effective set, raises it back, then
// drops it from the permitted set and can no longer raise it.
static void child(void) {
	struct __user_cap_header_struct h = hdr(_LINUX_CAPABILITY_VERSION_3, 0);
	struct __user_cap_data_struct d[2], g[2];
	CHECK("child capget", capget_(&h, d), 0);
	int bit = CAP_SYS_ADMIN;
	expect("child has CAP_SYS_ADMIN effective", (d[0].effective >> bit) & 1);

	d[0].effective &= ~(1u << bit);
	CHECK("drop effective", capset_(&h, d), 0);
	capget_(&h, g);
	expect("  gone from effective", !((g[0].effective >> bit) & 1));
	expect("  still permitted", (g[0].permitted >> bit) & 1);

	d[0].effective |= 1u << bit;
	CHECK("raise effective again", capset_(&h, d), 0);

	d[0].effective &= ~(1u << bit);
	d[0].permitted &= ~(1u << bit);
	CHECK("drop permitted", capset_(&h, d), 0);
	d[0].permitted |= 1u << bit;
	CHECK("raise permitted again", capset_(&h, d), EPERM);
	d[0].permitted &= ~(1u << bit);
	d[0].effective |= 1u << bit;
	CHECK("effective not in permitted", capset_(&h, d), EPERM);
	capget_(&h, g);
	expect("  sets unchanged by the failures", !((g[0].permitted >> bit) & 1) && !((g[0].effective >> bit) & 1));
}

int main(void) {
	struct __user_cap_header_struct h;
	struct __user_cap_data_struct d[2], e[2];

	h = hdr(_LINUX_CAPABILITY_VERSION_3, 0);
	CHECK("capget(v3, NULL data)", capget_(&h, NULL), 0);

	h = hdr(0x12345678, 0);
	CHECK("capget(bad version, NULL data)", capget_(&h, NULL), 0);
	expect("  version written back is v3", h.version == _LINUX_CAPABILITY_VERSION_3);
	h = hdr(0x12345678, 0);
	CHECK("capget(bad version, data)", capget_(&h, d), EINVAL);
	expect("  version written back is v3", h.version == _LINUX_CAPABILITY_VERSION_3);

	CHECK("capget(bad header)", capget_((void *)-1, d), EFAULT);
	h = hdr(_LINUX_CAPABILITY_VERSION_3, 0);
	CHECK("capget(bad data)", capget_(&h, (void *)-1), EFAULT);
	h = hdr(_LINUX_CAPABILITY_VERSION_3, -1);
	CHECK("capget(pid -1)", capget_(&h, d), EINVAL);

	pid_t dead = fork();
	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	h = hdr(_LINUX_CAPABILITY_VERSION_3, dead);
	CHECK("capget(reaped child's pid)", capget_(&h, d), ESRCH);

	h = hdr(_LINUX_CAPABILITY_VERSION_3, 0);
	CHECK("capget(v3, self)", capget_(&h, d), 0);
	uint64_t eff = word2(d[0].effective, d[1].effective), prm = word2(d[0].permitted, d[1].permitted);
	expect("effective within permitted", (eff & ~prm) == 0);
	expect("root has CAP_SYS_ADMIN and CAP_SETUID", (eff >> CAP_SYS_ADMIN & 1) && (eff >> CAP_SETUID & 1));
	h = hdr(_LINUX_CAPABILITY_VERSION_3, getpid());
	CHECK("capget(v3, getpid())", capget_(&h, e), 0);
	expect("  same as pid 0", memcmp(d, e, sizeof d) == 0);

	memset(e, 0xa5, sizeof e);
	h = hdr(_LINUX_CAPABILITY_VERSION_1, 0);
	CHECK("capget(v1)", capget_(&h, e), 0);
	expect("  low word as in v3", memcmp(&e[0], &d[0], sizeof e[0]) == 0);
	expect("  second word untouched", e[1].effective == 0xa5a5a5a5 && e[1].permitted == 0xa5a5a5a5);

	h = hdr(_LINUX_CAPABILITY_VERSION_3, 0);
	CHECK("capset(same sets)", capset_(&h, d), 0);
	h = hdr(_LINUX_CAPABILITY_VERSION_3, getppid());
	CHECK("capset(another pid)", capset_(&h, d), EPERM);
	h = hdr(_LINUX_CAPABILITY_VERSION_3, 0);
	CHECK("capset(bad data)", capset_(&h, (void *)-1), EFAULT);
	h = hdr(0x12345678, 0);
	CHECK("capset(bad version)", capset_(&h, d), EINVAL);
	expect("  version written back is v3", h.version == _LINUX_CAPABILITY_VERSION_3);

	in_child("child", child);
	h = hdr(_LINUX_CAPABILITY_VERSION_3, 0);
	capget_(&h, e);
	expect("parent's sets unchanged by the child", memcmp(d, e, sizeof d) == 0);
	printf("unexpected results: %d\n", bad);
	return bad;
}
