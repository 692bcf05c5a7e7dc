// SPDX-License-Identifier: GPL-2.0
/*
 * LD_PRELOAD shim for oteld_input_test.js: pthread_create() fails with
 * EAGAIN (as when out of memory or past RLIMIT_NPROC) from its
 * $FAIL_THREAD_AT-th call on (1 the first); the calls before it, and every
 * call without the variable, go to the real one.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *,
			 void *(*)(void *), void *);

int pthread_create(pthread_t *t, const pthread_attr_t *attr,
		   void *(*fn)(void *), void *arg)
{
	static atomic_long calls;
	const char *at = getenv("FAIL_THREAD_AT");
	create_fn real = (create_fn)dlsym(RTLD_NEXT, "pthread_create");

	if (at && atomic_fetch_add(&calls, 1) + 1 >= atol(at))
		return EAGAIN;
	return real ? real(t, attr, fn, arg) : ENOSYS;
}
