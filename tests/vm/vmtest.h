/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the in-VM tests: find files of the project tree and load
 * or unload modules.  The tests are host-built programs that scripts/vm runs
 * in the guest, where the tree sits at the same path as on the host.
 */
#ifndef _OTELTRACE_VMTEST_H
#define _OTELTRACE_VMTEST_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The tree's top: the test binary is <top>/build/tests/vm/<name>. */
static inline const char *vm_top(void)
{
	static char top[PATH_MAX];
	char *p;
	int up;

	if (top[0])
		return top;
	if (!realpath("/proc/self/exe", top))
		return ".";
	for (up = 0; up < 4; up++) {
		p = strrchr(top, '/');
		if (!p)
			return ".";
		*p = '\0';
	}
	return top;
}

/*
 * Absolute path of a file of the tree, e.g. vm_path("kmod/oteltrace.ko").
 * A module (*.ko) comes from $OTEL_KO_DIR when set: the tree of modules
 * built for the kernel under test (scripts/check's kernel matrix).
 */
static inline const char *vm_path(const char *rel)
{
	static char buf[4][PATH_MAX];
	static int next;
	char *out = buf[next++ % 4];
	const char *ko = getenv("OTEL_KO_DIR");
	size_t r = strlen(rel);
	const char *top = (ko && *ko && r > 3 && !strcmp(rel + r - 3, ".ko")) ?
			  ko : vm_top();
	size_t n = strlen(top);

	/* Paths longer than PATH_MAX are cut, and then simply not found. */
	if (n > PATH_MAX - 2)
		n = PATH_MAX - 2;
	memcpy(out, top, n);
	out[n] = '/';
	strncpy(out + n + 1, rel, PATH_MAX - n - 2);
	out[PATH_MAX - 1] = '\0';
	return out;
}

/* Load the module at tree-relative @rel with @params: 0 or -errno. */
static inline int vm_load_module(const char *rel, const char *params)
{
	int fd, ret;

	fd = open(vm_path(rel), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params ? params : "", 0);
	ret = ret ? -errno : 0;
	close(fd);
	return ret;
}

/* Unload module @name: 0 or -errno (-EBUSY/-EAGAIN while in use). */
static inline int vm_unload_module(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK) ? -errno : 0;
}

/* Is module @name loaded? */
static inline int vm_module_loaded(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	return access(path, F_OK) == 0;
}

/* Load oteltrace.ko (after unloading a copy left by an earlier test). */
static inline int vm_load_oteltrace(const char *params)
{
	if (vm_module_loaded("oteltrace"))
		vm_unload_module("oteltrace");
	return vm_load_module("kmod/oteltrace.ko", params);
}

#endif /* _OTELTRACE_VMTEST_H */
