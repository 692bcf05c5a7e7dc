// SPDX-License-Identifier: GPL-2.0
/*
 * The size field of an extensible ioctl struct is read twice by the kernel
 * (once to check it, once with the rest of the struct): a thread that
 * changes it in between must not get a size past the checks.  Here one
 * thread flips otel_bridge_req.size between OTEL_BRIDGE_REQ_SIZE_VER0 and
 * a size above a page while another calls OTEL_IOC_GET_BRIDGE: each call
 * either fails with E2BIG (the check saw the large size) or succeeds and
 * writes the struct only, never the caller's bytes past it (the size it
 * checked, not the one it read again).  A race: without the fix the bytes
 * past the struct are zeroed within a few thousand calls; the loop ends
 * at the first damage or after ITERS calls.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "kselftest_harness.h"
#include "ring_util.h"

#define ITERS		200000
#define BIG_SIZE	65536U		/* above a page: E2BIG if checked */
#define CANARY		0xa5

struct flip {
	volatile uint32_t *size;
	atomic_int stop;
};

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void *flipper(void *arg)
{
	struct flip *f = arg;

	pin(1);
	while (!atomic_load_explicit(&f->stop, memory_order_relaxed)) {
		*f->size = OTEL_BRIDGE_REQ_SIZE_VER0;
		*f->size = BIG_SIZE;
	}
	return NULL;
}

static int canary_intact(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++ != CANARY)
			return 0;
	return 1;
}

TEST(get_bridge_size_read_once)
{
	size_t len = BIG_SIZE + 4096;
	struct otel_bridge_req *req;
	unsigned long ok = 0, big = 0, other = 0, i;
	int fd, damaged = 0, err = 0;
	struct flip f;
	pthread_t t;
	uint8_t *buf;

	ASSERT_EQ(0, vm_load_oteltrace(NULL));
	fd = ring_open();
	ASSERT_LE(0, fd);
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	memset(buf, CANARY, len);
	req = (struct otel_bridge_req *)buf;
	memset(req, 0, sizeof(*req));
	req->size = OTEL_BRIDGE_REQ_SIZE_VER0;

	f.size = &req->size;
	atomic_init(&f.stop, 0);
	pin(0);
	ASSERT_EQ(0, pthread_create(&t, NULL, flipper, &f));
	for (i = 0; i < ITERS && !damaged; i++) {
		req->index = 0;
		if (!ioctl(fd, OTEL_IOC_GET_BRIDGE, req)) {
			ok++;
			damaged = !canary_intact(buf + sizeof(*req),
						 len - sizeof(*req));
		} else if (errno == E2BIG) {
			big++;
		} else {
			other++;
			err = errno;
		}
	}
	atomic_store(&f.stop, 1);
	pthread_join(t, NULL);
	TH_LOG("%lu calls: %lu ok, %lu E2BIG, %lu other (errno %d)",
	       i, ok, big, other, err);
	EXPECT_FALSE(damaged) {
		TH_LOG("a GET_BRIDGE that returned 0 wrote past the struct");
	}
	EXPECT_EQ(0, other);
	munmap(buf, len);
	close(fd);
	vm_unload_module("oteltrace");
}

TEST_HARNESS_MAIN
