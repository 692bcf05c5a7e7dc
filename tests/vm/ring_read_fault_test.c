// SPDX-License-Identifier: GPL-2.0
/*
 * read() must not hold the rings' mutex while the caller's buffer takes a
 * page fault: user space decides how long a fault lasts (userfaultfd here;
 * a FUSE-backed mapping for anyone in the device's group), and meanwhile
 * every other reader and every control ioctl would wait.  A reader calls
 * read() into a userfaultfd-registered page with records waiting; while
 * its fault is unanswered OTEL_IOC_INFO must return; once the page is
 * supplied the read completes with the records.  The deadline (20 s) only
 * catches the hang: without the fix INFO waited until the fault was
 * answered.
 */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <linux/userfaultfd.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "ring_util.h"
#include "claim_util.h"

struct rd {
	int fd;
	void *area;
	ssize_t n;
	atomic_int done;
};

static void *reader(void *arg)
{
	struct rd *r = arg;

	r->n = read(r->fd, r->area, 4096);
	atomic_store(&r->done, 1);
	return NULL;
}

static void *info_call(void *arg)
{
	struct rd *r = arg;
	struct otel_info info;

	if (!ioctl(r->fd, OTEL_IOC_INFO, &info))
		atomic_store(&r->done, 1);
	return NULL;
}

/* The modules go away whatever failed: the next program loads its own. */
FIXTURE(rf) {
	int unused;
};

FIXTURE_SETUP(rf)
{
}

FIXTURE_TEARDOWN(rf)
{
	vm_unload_module("otel_claimtest");
	vm_unload_module("oteltrace");
}

TEST_F(rf, info_while_read_faults)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_zeropage zp;
	struct uffdio_register reg;
	struct rd r = { 0 }, q = { 0 };
	pthread_t rt, qt;
	struct pollfd p;
	int uffd, s;

	/* userfaultfd first: a kernel without it fails before any load */
	uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	ASSERT_LE(0, uffd) TH_LOG("userfaultfd: %s (CONFIG_USERFAULTFD?)",
				  strerror(errno));
	ASSERT_EQ(0, vm_load_oteltrace(NULL));
	ASSERT_EQ(0, claim_load());
	r.fd = q.fd = ring_open();
	ASSERT_LE(0, r.fd);
	ASSERT_EQ(0, claim_cmd("raw %u", 10));
	ASSERT_LT(0, claim_result());
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_API, &api));
	r.area = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r.area);
	reg.range.start = (unsigned long)r.area;
	reg.range.len = 4096;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_REGISTER, &reg));

	ASSERT_EQ(0, pthread_create(&rt, NULL, reader, &r));
	p.fd = uffd;
	p.events = POLLIN;
	ASSERT_EQ(1, poll(&p, 1, 60000));	/* the reader's fault */
	ASSERT_EQ(0, pthread_create(&qt, NULL, info_call, &q));
	for (s = 0; s < 200 && !atomic_load(&q.done); s++)
		usleep(100000);
	EXPECT_TRUE(atomic_load(&q.done)) {
		TH_LOG("OTEL_IOC_INFO waited for the reader's page fault");
	}
	EXPECT_FALSE(atomic_load(&r.done));

	/* answer the fault: the read completes with the records */
	zp.range.start = (unsigned long)r.area;
	zp.range.len = 4096;
	zp.mode = 0;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_ZEROPAGE, &zp));
	pthread_join(rt, NULL);
	pthread_join(qt, NULL);
	EXPECT_LT(0, r.n);
	close(uffd);
	close(r.fd);
}

TEST_HARNESS_MAIN
