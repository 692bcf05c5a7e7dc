// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the queue dir (userspace/oteld/spool.c; ASan + UBSan):
 * files written whole and found again oldest first by the next oteld,
 * sequence numbers that go on growing, taking, keeping and removing,
 * cut, corrupt and half-written files counted and removed (never sent),
 * the lock, the byte bound in whole blocks, a full disk (a write failure
 * injected through spool_writev), sealing, stopping and interrupted sleeps.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <zlib.h>

#include "kselftest_harness.h"
#include "spool.h"

#define MiB (1ull << 20)

static char why[256];

static void reset_stats(void)
{
	memset(&stats, 0, sizeof(stats));
}

/* A body of @len bytes, byte i = i + @seed. */
static void *body_of(size_t len, unsigned int seed)
{
	uint8_t *b = malloc(len ? len : 1);
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = (uint8_t)(i + seed);
	return b;
}

static int put(struct spool *s, size_t len, unsigned int seed, uint32_t n)
{
	void *b = body_of(len, seed);
	int ret = spool_put(s, SPOOL_PROTOBUF, n, b, len);

	free(b);
	return ret;
}

/* Files in @dir whose name starts with @prefix. */
static int count_files(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += !strncmp(e->d_name, prefix, strlen(prefix));
	closedir(d);
	return n;
}

static void path_of(char *out, const char *dir, const char *name)
{
	snprintf(out, 512, "%s/%s", dir, name);
}

FIXTURE(spool) {
	char dir[64];
	struct spool_item it;
};

FIXTURE_SETUP(spool)
{
	snprintf(self->dir, sizeof(self->dir), "/tmp/oteld-spool-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	memset(&self->it, 0, sizeof(self->it));
	reset_stats();
	spool_writev = writev;
}

FIXTURE_TEARDOWN(spool)
{
	char cmd[128];

	buf_free(&self->it.body);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		TH_LOG("could not remove %s", self->dir);
}

TEST_F(spool, put_take_done_oldest_first)
{
	struct spool *s = spool_open(self->dir, 64 * MiB, true, why, sizeof(why));
	uint8_t *want;

	ASSERT_NE(NULL, s) TH_LOG("%s", why);
	ASSERT_EQ(0, put(s, 1000, 1, 10));
	ASSERT_EQ(0, put(s, 0, 2, 0));
	ASSERT_EQ(0, put(s, 5000, 3, 30));
	EXPECT_EQ(3, count_files(self->dir, "q-"));
	EXPECT_EQ(0, count_files(self->dir, "tmp-"));
	EXPECT_EQ(40, stats.spans_spooled);
	EXPECT_EQ(3, spool_files(s));
	EXPECT_EQ(40, spool_spans(s));
	/* whole 4 KiB blocks: 48 + 1000, 48, 48 + 5000 */
	EXPECT_EQ(4096 + 4096 + 8192, spool_bytes(s));
	EXPECT_EQ(16384, stats.spool_bytes_max);

	ASSERT_EQ(1, spool_take(s, &self->it));
	EXPECT_EQ(1, self->it.seq);
	EXPECT_EQ(10, self->it.nr_spans);
	EXPECT_EQ(SPOOL_PROTOBUF, self->it.encoding);
	want = body_of(1000, 1);
	ASSERT_EQ(1000, self->it.body.len);
	EXPECT_EQ(0, memcmp(want, self->it.body.data, 1000));
	free(want);
	spool_done(s, &self->it);
	EXPECT_EQ(2, count_files(self->dir, "q-"));

	ASSERT_EQ(1, spool_take(s, &self->it));
	EXPECT_EQ(2, self->it.seq);
	EXPECT_EQ(0, self->it.body.len);
	/* not delivered: back first in line */
	spool_keep(s, &self->it);
	ASSERT_EQ(1, spool_take(s, &self->it));
	EXPECT_EQ(2, self->it.seq);
	spool_done(s, &self->it);
	ASSERT_EQ(1, spool_take(s, &self->it));
	EXPECT_EQ(3, self->it.seq);
	EXPECT_EQ(5000, self->it.body.len);
	spool_done(s, &self->it);
	EXPECT_EQ(0, spool_bytes(s));
	EXPECT_EQ(0, count_files(self->dir, "q-"));
	spool_seal(s);
	EXPECT_EQ(0, spool_take(s, &self->it));
	spool_close(s);
	EXPECT_EQ(0, stats.spool_left);
}

TEST_F(spool, next_run_loads_files_in_order_and_numbers_on)
{
	struct spool *s = spool_open(self->dir, 64 * MiB, false, why, sizeof(why));
	int i;

	ASSERT_NE(NULL, s) TH_LOG("%s", why);
	/* 20 files: more than one readdir() order could keep sorted by luck */
	for (i = 0; i < 20; i++)
		ASSERT_EQ(0, put(s, 100 + i, i, 1 + i));
	ASSERT_EQ(1, spool_take(s, &self->it));
	spool_done(s, &self->it);	/* seq 1 sent */
	spool_close(s);
	EXPECT_EQ(210 - 1, stats.spool_left);

	reset_stats();
	s = spool_open(self->dir, 64 * MiB, false, why, sizeof(why));
	ASSERT_NE(NULL, s) TH_LOG("%s", why);
	EXPECT_EQ(209, stats.spool_loaded);
	EXPECT_EQ(19, spool_files(s));
	EXPECT_EQ(0, stats.spool_corrupt);
	ASSERT_EQ(0, put(s, 10, 0, 1));
	for (i = 2; i <= 21; i++) {
		ASSERT_EQ(1, spool_take(s, &self->it));
		EXPECT_EQ(i, self->it.seq);	/* 21: the new one, numbered on */
		EXPECT_EQ(i <= 20 ? (uint32_t)i : 1u, self->it.nr_spans);
		spool_done(s, &self->it);
	}
	spool_close(s);
}

/* Damage, each in its own file, as a crash or a bad disk leaves it. */
TEST_F(spool, cut_corrupt_and_half_written_files_are_counted_not_sent)
{
	struct spool *s = spool_open(self->dir, 64 * MiB, false, why, sizeof(why));
	char p[512];
	int fd, i;
	uint8_t byte;

	ASSERT_NE(NULL, s) TH_LOG("%s", why);
	for (i = 0; i < 7; i++)
		ASSERT_EQ(0, put(s, 3000, i, 100));
	spool_close(s);

	/* 1: cut in its body; 2: cut in its header */
	path_of(p, self->dir, "q-0000000000000001");
	ASSERT_EQ(0, truncate(p, 48 + 1000));
	path_of(p, self->dir, "q-0000000000000002");
	ASSERT_EQ(0, truncate(p, 20));
	/* 3: one byte of the body changed; 4: one byte of the header */
	path_of(p, self->dir, "q-0000000000000003");
	fd = open(p, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, pread(fd, &byte, 1, 48 + 2999));
	byte ^= 0x40;
	ASSERT_EQ(1, pwrite(fd, &byte, 1, 48 + 2999));
	close(fd);
	path_of(p, self->dir, "q-0000000000000004");
	fd = open(p, O_RDWR);
	ASSERT_LE(0, fd);
	byte = 0x7f;
	ASSERT_EQ(1, pwrite(fd, &byte, 1, 36));	/* nr_spans */
	close(fd);
	/* 5: longer than its header says */
	path_of(p, self->dir, "q-0000000000000005");
	fd = open(p, O_WRONLY | O_APPEND);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, write(fd, "x", 1));
	close(fd);
	/* 6: renamed to another number */
	{
		char q[512];

		path_of(p, self->dir, "q-0000000000000006");
		path_of(q, self->dir, "q-00000000000000a6");
		ASSERT_EQ(0, rename(p, q));
	}
	/* a write that never finished, and a file that is not ours */
	path_of(p, self->dir, "tmp-0000000000000008");
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(5, write(fd, "OTELS", 5));
	close(fd);
	path_of(p, self->dir, "README");
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	ASSERT_LE(0, fd);
	close(fd);

	reset_stats();
	s = spool_open(self->dir, 64 * MiB, false, why, sizeof(why));
	ASSERT_NE(NULL, s) TH_LOG("%s", why);
	EXPECT_EQ(7, stats.spool_corrupt);
	EXPECT_EQ(100, stats.spool_loaded);	/* 7 alone is whole */
	EXPECT_EQ(1, count_files(self->dir, "q-"));
	EXPECT_EQ(0, count_files(self->dir, "tmp-"));
	EXPECT_EQ(1, count_files(self->dir, "README"));
	ASSERT_EQ(1, spool_take(s, &self->it));
	EXPECT_EQ(7, self->it.seq);
	spool_done(s, &self->it);
	/* numbers go on past every name seen, the damaged ones too */
	ASSERT_EQ(0, put(s, 10, 0, 1));
	ASSERT_EQ(1, spool_take(s, &self->it));
	EXPECT_EQ(0xa7, self->it.seq);
	spool_done(s, &self->it);
	spool_close(s);
}

/* A file damaged after start-up is found when it is taken. */
TEST_F(spool, corrupt_when_taken_is_skipped)
{
	struct spool *s = spool_open(self->dir, 64 * MiB, false, why, sizeof(why));
	char p[512];

	ASSERT_NE(NULL, s) TH_LOG("%s", why);
	ASSERT_EQ(0, put(s, 3000, 1, 5));
	ASSERT_EQ(0, put(s, 3000, 2, 6));
	path_of(p, self->dir, "q-0000000000000001");
	ASSERT_EQ(0, truncate(p, 100));
	ASSERT_EQ(1, spool_take(s, &self->it));
	EXPECT_EQ(2, self->it.seq);
	EXPECT_EQ(1, stats.spool_corrupt);
	EXPECT_EQ(5, stats.dropped_export_failed);	/* its spans: counted */
	EXPECT_EQ(6, spool_spans(s));
	spool_done(s, &self->it);
	EXPECT_EQ(0, spool_bytes(s));
	spool_close(s);
}

/*
 * What nobody but oteld should put in the dir: a FIFO and a link where a
 * file is expected (not opened: a FIFO would block the start for good, a
 * link send what it points to), a link as the lock (not truncated through),
 * a whole file named with the largest number (numbering after it would wrap
 * to 0 and come back over the names in use).
 */
TEST_F(spool, hostile_entries_are_not_followed_nor_numbered_after)
{
	char other[80], p[512], q[512], buf[8];
	struct spool_header h;
	struct spool *s;
	int fd;

	snprintf(other, sizeof(other), "%s/other", self->dir);
	s = spool_open(other, 64 * MiB, false, why, sizeof(why));
	ASSERT_NE(NULL, s) TH_LOG("%s", why);
	ASSERT_EQ(0, put(s, 100, 1, 3));	/* other/q-1 */
	ASSERT_EQ(0, put(s, 100, 2, 4));	/* other/q-2 */
	spool_close(s);
	/* q-2 renumbered as the largest sequence number, CRC and all */
	path_of(p, other, "q-0000000000000002");
	fd = open(p, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(sizeof(h), pread(fd, &h, sizeof(h), 0));
	h.seq = UINT64_MAX;
	h.header_crc = (uint32_t)crc32(0, (const Bytef *)&h,
				       offsetof(struct spool_header, header_crc));
	ASSERT_EQ(sizeof(h), pwrite(fd, &h, sizeof(h), 0));
	close(fd);
	path_of(q, self->dir, "q-ffffffffffffffff");
	ASSERT_EQ(0, rename(p, q));

	path_of(p, self->dir, "q-0000000000000003");
	ASSERT_EQ(0, mkfifo(p, 0600));
	path_of(p, other, "q-0000000000000001");
	path_of(q, self->dir, "q-0000000000000001");
	ASSERT_EQ(0, symlink(p, q));
	path_of(p, other, "lock");
	path_of(q, self->dir, "lock");
	ASSERT_EQ(0, unlink(p));
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(4, write(fd, "keep", 4));
	close(fd);
	ASSERT_EQ(0, symlink(p, q));

	reset_stats();
	EXPECT_EQ(NULL, spool_open(self->dir, 64 * MiB, false, why,
				   sizeof(why)));
	EXPECT_STREQ("lock: Too many levels of symbolic links", why);
	fd = open(p, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(4, read(fd, buf, sizeof(buf)));
	close(fd);
	EXPECT_EQ(0, memcmp(buf, "keep", 4));
	ASSERT_EQ(0, unlink(q));

	s = spool_open(self->dir, 64 * MiB, false, why, sizeof(why));
	ASSERT_NE(NULL, s) TH_LOG("%s", why);
	EXPECT_EQ(0, stats.spool_loaded);
	EXPECT_EQ(2, stats.spool_corrupt);	/* the FIFO and the link */
	EXPECT_EQ(0, spool_files(s));
	path_of(p, other, "q-0000000000000001");
	EXPECT_EQ(0, access(p, F_OK));		/* a link's target stays */
	EXPECT_EQ(1, count_files(self->dir, "q-"));	/* q-ffff... left */
	ASSERT_EQ(0, put(s, 10, 0, 1));
	ASSERT_EQ(1, spool_take(s, &self->it));
	EXPECT_EQ(4, self->it.seq);	/* after the FIFO's name, not 0 */
	spool_done(s, &self->it);
	spool_close(s);
}

TEST_F(spool, a_second_user_of_the_dir_is_refused)
{
	struct spool *s = spool_open(self->dir, 64 * MiB, false, why, sizeof(why));
	struct spool *t;
	char pid[64];

	ASSERT_NE(NULL, s) TH_LOG("%s", why);
	t = spool_open(self->dir, 64 * MiB, false, why, sizeof(why));
	EXPECT_EQ(NULL, t);
	snprintf(pid, sizeof(pid), "in use by another oteld (pid %d)", getpid());
	EXPECT_STREQ(pid, why);
	spool_close(t);
	spool_close(s);
	/* the lock goes with its holder */
	s = spool_open(self->dir, 64 * MiB, false, why, sizeof(why));
	EXPECT_NE(NULL, s) TH_LOG("%s", why);
	spool_close(s);
}

TEST_F(spool, dir_is_created_or_refused)
{
	char sub[128], file[128];
	struct spool *s;
	int fd;

	snprintf(sub, sizeof(sub), "%s/new", self->dir);
	s = spool_open(sub, MiB, false, why, sizeof(why));
	ASSERT_NE(NULL, s) TH_LOG("%s", why);
	spool_close(s);
	snprintf(file, sizeof(file), "%s/file", self->dir);
	fd = open(file, O_WRONLY | O_CREAT, 0600);
	ASSERT_LE(0, fd);
	close(fd);
	EXPECT_EQ(NULL, spool_open(file, MiB, false, why, sizeof(why)));
	EXPECT_STREQ("Not a directory", why);
}

TEST_F(spool, byte_bound_in_whole_blocks)
{
	/* three blocks of room: 48 + 5000 bytes take two */
	struct spool *s = spool_open(self->dir, 3 * 4096, false, why, sizeof(why));

	ASSERT_NE(NULL, s) TH_LOG("%s", why);
	ASSERT_EQ(0, put(s, 5000, 1, 7));
	EXPECT_EQ(-1, put(s, 5000, 2, 8));
	EXPECT_EQ(8, stats.dropped_spool_full);
	EXPECT_EQ(0, stats.spool_write_errors);
	ASSERT_EQ(0, put(s, 4000, 3, 9));	/* 4048: one block still fits */
	EXPECT_EQ(-1, put(s, 1, 4, 10));
	EXPECT_EQ(18, stats.dropped_spool_full);
	EXPECT_EQ(2, count_files(self->dir, "q-"));
	EXPECT_EQ(16, stats.spans_spooled);
	EXPECT_EQ(3 * 4096, stats.spool_bytes_max);
	/* room again once one is sent */
	ASSERT_EQ(1, spool_take(s, &self->it));
	spool_done(s, &self->it);
	EXPECT_EQ(0, put(s, 5000, 5, 11));
	spool_close(s);
	EXPECT_EQ(9 + 11, stats.spool_left);
}

static int fail_after;		/* writev calls that succeed first */
static int fail_errno;

static ssize_t failing_writev(int fd, const struct iovec *iov, int n)
{
	if (fail_after-- > 0)
		return writev(fd, iov, n);
	if (!fail_errno)
		return 0;	/* nothing written, no error: a full disk too */
	errno = fail_errno;
	return -1;
}

/* The header goes out, then the disk is full: as ENOSPC does. */
static ssize_t short_then_full(int fd, const struct iovec *iov, int n)
{
	(void)n;
	if (fail_after-- > 0)
		return writev(fd, iov, 1);	/* a short write */
	errno = ENOSPC;
	return -1;
}

/* A put whose writev() waits, in another thread, until let go. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool entered, go;
} held = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false,
	     false };

static ssize_t held_writev(int fd, const struct iovec *iov, int n)
{
	pthread_mutex_lock(&held.lock);
	held.entered = true;
	pthread_cond_broadcast(&held.cond);
	while (!held.go)
		pthread_cond_wait(&held.cond, &held.lock);
	pthread_mutex_unlock(&held.lock);
	return writev(fd, iov, n);
}

struct held_put {
	struct spool *s;
	int ret;
};

static void *held_put_run(void *arg)
{
	struct held_put *h = arg;

	h->ret = put(h->s, 100, 2, 2);
	return NULL;
}

/* What oteld logged between two calls: stderr into a file meanwhile. */
static int log_start(void)
{
	int saved = dup(2), fd = open("/tmp", O_TMPFILE | O_RDWR, 0600);

	fflush(stderr);
	dup2(fd, 2);
	close(fd);
	return saved;
}

static size_t log_end(int saved, char *out, size_t len)
{
	ssize_t n;

	fflush(stderr);
	n = pread(2, out, len - 1, 0);
	dup2(saved, 2);
	close(saved);
	out[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

static int count_str(const char *hay, const char *needle)
{
	int n = 0;

	for (; (hay = strstr(hay, needle)); hay++)
		n++;
	return n;
}

/*
 * Two writers: one has its room and is writing when the other finds the
 * dir full.  The first one's file going in is no sign of room: the dir is
 * still full, the refusal is logged once, and "writing again" comes with
 * the first put that finds room after it, counting every span dropped.
 */
TEST_F(spool, full_logged_once_while_an_earlier_put_completes)
{
	struct spool *s = spool_open(self->dir, 2 * 4096, false, why,
				     sizeof(why));
	struct held_put a = { 0 };
	pthread_t t;
	char log[4096];
	int saved;

	ASSERT_NE(NULL, s) TH_LOG("%s", why);
	ASSERT_EQ(0, put(s, 100, 1, 1));
	held.entered = held.go = false;
	spool_writev = held_writev;
	a.s = s;
	ASSERT_EQ(0, pthread_create(&t, NULL, held_put_run, &a));
	pthread_mutex_lock(&held.lock);
	while (!held.entered)
		pthread_cond_wait(&held.cond, &held.lock);
	pthread_mutex_unlock(&held.lock);
	/* the second block is the held put's: full */
	saved = log_start();
	spool_writev = writev;
	EXPECT_EQ(-1, put(s, 100, 3, 3));
	pthread_mutex_lock(&held.lock);
	held.go = true;
	pthread_cond_broadcast(&held.cond);
	pthread_mutex_unlock(&held.lock);
	pthread_join(t, NULL);
	EXPECT_EQ(0, a.ret);
	EXPECT_EQ(-1, put(s, 100, 4, 4));	/* still full */
	ASSERT_EQ(1, spool_take(s, &self->it));
	spool_done(s, &self->it);
	EXPECT_EQ(0, put(s, 100, 5, 5));	/* room again */
	log_end(saved, log, sizeof(log));
	EXPECT_EQ(1, count_str(log, "reached: dropping new requests"))
		TH_LOG("%s", log);
	EXPECT_EQ(1, count_str(log, "writing again; 7 spans were dropped"))
		TH_LOG("%s", log);
	EXPECT_EQ(7, stats.dropped_spool_full);
	spool_close(s);
}

TEST_F(spool, a_full_disk_is_counted_and_leaves_nothing)
{
	struct spool *s = spool_open(self->dir, 64 * MiB, false, why, sizeof(why));

	ASSERT_NE(NULL, s) TH_LOG("%s", why);
	ASSERT_EQ(0, put(s, 100, 1, 3));
	spool_writev = failing_writev;
	fail_after = 0;
	fail_errno = ENOSPC;
	EXPECT_EQ(-1, put(s, 100, 2, 4));
	fail_after = 0;
	fail_errno = EIO;
	EXPECT_EQ(-1, put(s, 100, 3, 5));
	fail_after = 0;
	fail_errno = 0;
	EXPECT_EQ(-1, put(s, 100, 3, 6));
	spool_writev = short_then_full;
	fail_after = 1;
	EXPECT_EQ(-1, put(s, 100, 3, 7));
	EXPECT_EQ(4 + 5 + 6 + 7, stats.dropped_spool_full);
	EXPECT_EQ(4, stats.spool_write_errors);
	EXPECT_EQ(0, count_files(self->dir, "tmp-"));
	EXPECT_EQ(1, count_files(self->dir, "q-"));
	EXPECT_EQ(4096, spool_bytes(s));
	/* the disk has room again */
	spool_writev = writev;
	EXPECT_EQ(0, put(s, 100, 4, 8));
	EXPECT_EQ(2, count_files(self->dir, "q-"));
	EXPECT_EQ(11, stats.spans_spooled);
	ASSERT_EQ(1, spool_take(s, &self->it));
	EXPECT_EQ(1, self->it.seq);
	spool_done(s, &self->it);
	ASSERT_EQ(1, spool_take(s, &self->it));
	EXPECT_EQ(6, self->it.seq);	/* the failed ones used 2..5 */
	EXPECT_EQ(8, self->it.nr_spans);
	spool_done(s, &self->it);
	spool_close(s);
}

/* A short write that goes on after EINTR is whole. */
static ssize_t in_pieces(int fd, const struct iovec *iov, int n)
{
	static int calls;

	(void)n;
	if (calls++ % 2) {
		errno = EINTR;
		return -1;
	}
	return write(fd, iov->iov_base, iov->iov_len > 7 ? 7 : iov->iov_len);
}

TEST_F(spool, short_writes_and_eintr_still_write_whole_files)
{
	struct spool *s = spool_open(self->dir, 64 * MiB, true, why, sizeof(why));
	uint8_t *want = body_of(1001, 9);

	ASSERT_NE(NULL, s) TH_LOG("%s", why);
	spool_writev = in_pieces;
	ASSERT_EQ(0, put(s, 1001, 9, 2));
	spool_writev = writev;
	spool_close(s);
	s = spool_open(self->dir, 64 * MiB, true, why, sizeof(why));
	ASSERT_NE(NULL, s) TH_LOG("%s", why);
	EXPECT_EQ(0, stats.spool_corrupt);
	ASSERT_EQ(1, spool_take(s, &self->it));
	ASSERT_EQ(1001, self->it.body.len);
	EXPECT_EQ(0, memcmp(want, self->it.body.data, 1001));
	spool_done(s, &self->it);
	spool_close(s);
	free(want);
}

struct waker {
	struct spool *s;
	int what;	/* 0 put, 1 seal, 2 stop, 3 interrupt */
};

static void *wake_later(void *arg)
{
	struct waker *w = arg;

	usleep(50000);	/* an order: the other side is waiting by then */
	if (w->what == 0)
		put(w->s, 10, 1, 1);
	else if (w->what == 1)
		spool_seal(w->s);
	else if (w->what == 2)
		spool_stop(w->s);
	else
		spool_interrupt(w->s);
	return NULL;
}

TEST_F(spool, take_waits_for_a_file_seal_or_stop)
{
	struct spool *s = spool_open(self->dir, 64 * MiB, false, why, sizeof(why));
	struct waker w = { s, 0 };
	pthread_t t;

	ASSERT_NE(NULL, s) TH_LOG("%s", why);
	pthread_create(&t, NULL, wake_later, &w);
	EXPECT_EQ(1, spool_take(s, &self->it));
	pthread_join(t, NULL);
	spool_keep(s, &self->it);
	/* stopped: nothing more is taken, what waits stays */
	w.what = 2;
	pthread_create(&t, NULL, wake_later, &w);
	usleep(100000);
	EXPECT_EQ(0, spool_take(s, &self->it));
	pthread_join(t, NULL);
	EXPECT_EQ(1, spool_files(s));
	spool_close(s);
	EXPECT_EQ(1, stats.spool_left);

	s = spool_open(self->dir, 64 * MiB, false, why, sizeof(why));
	ASSERT_NE(NULL, s) TH_LOG("%s", why);
	ASSERT_EQ(1, spool_take(s, &self->it));
	spool_done(s, &self->it);
	w.s = s;
	w.what = 1;
	pthread_create(&t, NULL, wake_later, &w);
	EXPECT_EQ(0, spool_take(s, &self->it));	/* sealed and empty */
	pthread_join(t, NULL);
	spool_close(s);
}

TEST_F(spool, sleep_is_cut_short_by_an_interrupt)
{
	struct spool *s = spool_open(self->dir, 64 * MiB, false, why, sizeof(why));
	struct waker w = { s, 3 };
	pthread_t t;

	ASSERT_NE(NULL, s) TH_LOG("%s", why);
	EXPECT_TRUE(spool_sleep(s, 1));
	EXPECT_FALSE(spool_stopping(s));
	pthread_create(&t, NULL, wake_later, &w);
	/* an hour, unless interrupted: a hang fails by the harness' timeout */
	EXPECT_FALSE(spool_sleep(s, 3600000));
	pthread_join(t, NULL);
	EXPECT_TRUE(spool_stopping(s));
	EXPECT_FALSE(spool_sleep(s, 3600000));
	spool_close(s);
}

TEST_HARNESS_MAIN
