// SPDX-License-Identifier: GPL-2.0
/*
 * The export queue on disk (--queue-dir): one file per encoded export
 * request.
 *
 *   DIR/lock               flock()ed by the oteld that uses DIR (its pid)
 *   DIR/q-<seq, 16 hex>    a request waiting: struct spool_header + body
 *   DIR/tmp-<seq>          a request being written
 *
 * A request is written to tmp-<seq>, fsync()ed (--queue-sync file), then
 * renamed to q-<seq> and the directory fsync()ed: a q- file is whole, or
 * the header's length and CRCs say it is not.  Sequence numbers grow from
 * one run to the next (the largest found + 1), so names sort oldest first.
 * The files waiting are indexed in memory (a ring, oldest first); files
 * taken for sending are out of the ring until they are done (removed) or
 * kept (back at its head).  Bytes are counted in whole 4 KiB blocks, as
 * the file system allocates them; --queue-max-bytes bounds them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "spool.h"

#define NAME_LEN	(2 + 16 + 1)	/* "q-" + 16 hex digits + NUL */
#define TMP_LEN		(4 + 16 + 1)	/* "tmp-" ... */
#define READ_CHUNK	(64u << 10)

ssize_t (*spool_writev)(int fd, const struct iovec *iov, int iovcnt) = writev;

struct entry {
	uint64_t seq;
	uint64_t bytes;		/* whole blocks */
	uint32_t nr_spans;
};

struct spool {
	pthread_mutex_t lock;
	pthread_condattr_t attr;
	pthread_cond_t cond;	/* a file queued, sealed, stopped, interrupted */
	char *dir;
	int dirfd, lockfd;
	bool sync;
	uint64_t max_bytes, used, next_seq;
	struct entry *ring;	/* waiting, oldest first */
	size_t cap, head, len;
	uint64_t spans;		/* in the ring and taken */
	size_t taken;		/* out of the ring, being sent */
	size_t reserved;	/* being written, not in the ring yet */
	bool opened;		/* locked and loaded: spool_close() counts */
	bool sealed, stopped, interrupted;
	bool refusing;		/* no room since the last put that found some */
	uint64_t refused_spans;
};

static uint64_t blocks_of(uint64_t size)
{
	return (size + SPOOL_BLOCK - 1) / SPOOL_BLOCK * SPOOL_BLOCK;
}

static uint32_t header_crc(const struct spool_header *h)
{
	return (uint32_t)crc32(0, (const Bytef *)h,
			       offsetof(struct spool_header, header_crc));
}

/*
 * Room for one more file: the ring holds every file, waiting, taken or
 * being written, so spool_keep() and the end of spool_put() always find a
 * slot.  Grown by doubling; the byte bound bounds it.
 */
static int ring_reserve(struct spool *s)
{
	struct entry *n;
	size_t i, cap;

	if (s->len + s->taken + s->reserved < s->cap)
		return 0;
	cap = s->cap ? s->cap * 2 : 64;
	n = malloc(cap * sizeof(*n));
	if (!n)
		return -1;
	for (i = 0; i < s->len; i++)
		n[i] = s->ring[(s->head + i) % s->cap];
	free(s->ring);
	s->ring = n;
	s->cap = cap;
	s->head = 0;
	return 0;
}

static void ring_push_tail(struct spool *s, const struct entry *e)
{
	s->ring[(s->head + s->len) % s->cap] = *e;
	s->len++;
}

static void ring_push_head(struct spool *s, const struct entry *e)
{
	s->head = (s->head + s->cap - 1) % s->cap;
	s->ring[s->head] = *e;
	s->len++;
}

static struct entry ring_pop_head(struct spool *s)
{
	struct entry e = s->ring[s->head];

	s->head = (s->head + 1) % s->cap;
	s->len--;
	return e;
}

static void account(struct spool *s, int64_t bytes)
{
	unsigned long long peak;

	s->used += bytes;
	peak = atomic_load(&stats.spool_bytes_max);
	while (s->used > peak &&
	       !atomic_compare_exchange_weak(&stats.spool_bytes_max, &peak,
					     s->used))
		;
}

static void name_of(char *out, uint64_t seq)
{
	snprintf(out, NAME_LEN, "q-%016" PRIx64, seq);
}

static void tmp_name_of(char *out, uint64_t seq)
{
	snprintf(out, TMP_LEN, "tmp-%016" PRIx64, seq);
}

/*
 * "q-" and exactly 16 lowercase hex digits: its sequence number.  The
 * largest number is never written (the next one would wrap to 0 and come
 * back to names in use): a file of that name is not ours.
 */
static bool parse_name(const char *name, uint64_t *seq)
{
	size_t i;

	if (strncmp(name, "q-", 2) || strlen(name) != NAME_LEN - 1)
		return false;
	*seq = 0;
	for (i = 2; i < NAME_LEN - 1; i++) {
		char c = name[i];

		if (c >= '0' && c <= '9')
			*seq = *seq << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*seq = *seq << 4 | (uint64_t)(c - 'a' + 10);
		else
			return false;
	}
	return *seq != UINT64_MAX;
}

/*
 * Check the header of an open file of @size bytes named for @seq: NULL,
 * or what is wrong with it.
 */
static const char *header_check(const struct spool_header *h, uint64_t seq,
				uint64_t size)
{
	if (memcmp(h->magic, SPOOL_MAGIC, sizeof(h->magic)) ||
	    h->version != SPOOL_VERSION || h->header_len != sizeof(*h))
		return "not a queued request of this oteld";
	if (h->header_crc != header_crc(h))
		return "header CRC mismatch";
	if (h->seq != seq)
		return "sequence number is not its name's";
	if (h->body_len > SPOOL_MAX_BODY ||
	    (h->encoding != SPOOL_PROTOBUF && h->encoding != SPOOL_JSON))
		return "impossible header";
	if (size != sizeof(*h) + h->body_len)
		return size < sizeof(*h) + h->body_len ?
		       "cut short (written when oteld stopped?)" :
		       "longer than its header says";
	return NULL;
}

/*
 * Read q-<seq> whole: its header in @h and, with @body, its body there;
 * without, the body's CRC is checked chunk by chunk.  NULL, or why it is
 * not a request to send.
 */
static const char *read_file(struct spool *s, uint64_t seq,
			     struct spool_header *h, struct buf *body,
			     uint64_t *size)
{
	static const char *const io = "cannot be read";
	char name[NAME_LEN];
	const char *bad = NULL;
	uLong crc = crc32(0, NULL, 0);
	uint8_t *chunk = NULL;
	uint64_t left;
	struct stat st;
	int fd;

	name_of(name, seq);
	/* a link is not followed, a FIFO does not block: neither is ours */
	fd = openat(s->dirfd, name,
		    O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return errno == ELOOP ? "a symbolic link" : io;
	if (fstat(fd, &st) || st.st_size < 0) {
		bad = io;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		bad = "not a regular file";
		goto out;
	}
	if ((uint64_t)st.st_size < sizeof(*h)) {
		bad = "cut short (written when oteld stopped?)";
		goto out;
	}
	if (read(fd, h, sizeof(*h)) != (ssize_t)sizeof(*h)) {
		bad = io;
		goto out;
	}
	*size = st.st_size;
	bad = header_check(h, seq, st.st_size);
	if (bad)
		goto out;
	if (body) {
		body->len = 0;
		if (buf_reserve(body, h->body_len)) {
			bad = "out of memory";
			goto out;
		}
	} else {
		chunk = malloc(READ_CHUNK);
		if (!chunk) {
			bad = "out of memory";
			goto out;
		}
	}
	for (left = h->body_len; left;) {
		size_t want = body ? left : (left < READ_CHUNK ? left :
					     READ_CHUNK);
		uint8_t *to = body ? body->data + body->len : chunk;
		ssize_t n = read(fd, to, want);

		if (n <= 0) {
			bad = n ? io : "cut short";
			goto out;
		}
		crc = crc32(crc, to, (uInt)n);
		if (body)
			body->len += n;
		left -= n;
	}
	if (crc != h->body_crc)
		bad = "body CRC mismatch";
out:
	free(chunk);
	close(fd);
	return bad;
}

static void drop_file(struct spool *s, const char *name, const char *why)
{
	log_msg("queue dir %s: %s: %s; removed, not sent", s->dir, name, why);
	atomic_fetch_add(&stats.spool_corrupt, 1);
	if (unlinkat(s->dirfd, name, 0) && errno != ENOENT)
		log_msg("queue dir %s: %s: %s", s->dir, name, strerror(errno));
}

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* What an earlier run left: whole requests queued, the rest removed. */
static int load(struct spool *s, char *why, size_t whylen)
{
	struct spool_header h;
	struct dirent *d;
	struct entry e;
	uint64_t seq, size;
	DIR *dir;
	int fd = dup(s->dirfd);

	dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dir) {
		snprintf(why, whylen, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((d = readdir(dir))) {
		const char *bad;

		if (!strncmp(d->d_name, "tmp-", 4)) {
			drop_file(s, d->d_name, "a write that never finished");
			continue;
		}
		if (!parse_name(d->d_name, &seq))
			continue;	/* the lock, or not ours */
		if (seq >= s->next_seq)
			s->next_seq = seq + 1;
		bad = read_file(s, seq, &h, NULL, &size);
		if (bad) {
			drop_file(s, d->d_name, bad);
			continue;
		}
		if (ring_reserve(s)) {
			closedir(dir);
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		e = (struct entry){ seq, blocks_of(size), h.nr_spans };
		ring_push_tail(s, &e);
		account(s, e.bytes);
		s->spans += h.nr_spans;
		atomic_fetch_add(&stats.spool_loaded, h.nr_spans);
	}
	closedir(dir);
	/* readdir() has no order; the ring starts at 0 after ring_reserve() */
	if (s->len)
		qsort(s->ring + s->head, s->len, sizeof(*s->ring), cmp_entry);
	if (s->len)
		log_msg("queue dir %s: %zu requests (%" PRIu64 " spans, %"
			PRIu64 " bytes) from an earlier run, sent first",
			s->dir, s->len, s->spans, s->used);
	return 0;
}

/* Take DIR/lock, or say who holds it. */
static int lock_dir(struct spool *s, char *why, size_t whylen)
{
	char pid[32];
	ssize_t n;

	/* never through a link: it is truncated and written */
	s->lockfd = openat(s->dirfd, "lock",
			   O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->lockfd < 0) {
		snprintf(why, whylen, "lock: %s", strerror(errno));
		return -1;
	}
	if (flock(s->lockfd, LOCK_EX | LOCK_NB)) {
		if (errno != EWOULDBLOCK) {
			snprintf(why, whylen, "lock: %s", strerror(errno));
			return -1;
		}
		n = pread(s->lockfd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		snprintf(why, whylen, "in use by another oteld (pid %s)",
			 *pid ? pid : "unknown");
		return -1;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(s->lockfd, 0) || pwrite(s->lockfd, pid, n, 0) != n)
		log_msg("queue dir %s: cannot write its lock file: %s", s->dir,
			strerror(errno));
	return 0;
}

struct spool *spool_open(const char *dir, uint64_t max_bytes, bool sync,
			 char *why, size_t whylen)
{
	struct spool *s = calloc(1, sizeof(*s));

	snprintf(why, whylen, "out of memory");
	if (!s)
		return NULL;
	s->dirfd = s->lockfd = -1;
	s->dir = strdup(dir);
	s->max_bytes = max_bytes;
	s->sync = sync;
	s->next_seq = 1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&s->attr);
	pthread_condattr_setclock(&s->attr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &s->attr);
	if (!s->dir)
		goto err;
	if (mkdir(dir, 0700) && errno != EEXIST) {
		snprintf(why, whylen, "%s", strerror(errno));
		goto err;
	}
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		goto err;
	}
	if (faccessat(s->dirfd, ".", W_OK, AT_EACCESS)) {
		snprintf(why, whylen, "not writable: %s", strerror(errno));
		goto err;
	}
	if (lock_dir(s, why, whylen) || load(s, why, whylen))
		goto err;
	s->opened = true;
	return s;
err:
	spool_close(s);
	return NULL;
}

void spool_close(struct spool *s)
{
	if (!s)
		return;
	if (s->opened)
		atomic_store(&stats.spool_left, s->spans);
	if (s->lockfd >= 0)
		close(s->lockfd);	/* and the lock with it */
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->ring);
	free(s->dir);
	pthread_cond_destroy(&s->cond);
	pthread_condattr_destroy(&s->attr);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Write all of @iov to @fd: 0, or -1 with errno (ENOSPC for a short write). */
static int write_all(int fd, struct iovec *iov, int n)
{
	while (n) {
		ssize_t w = spool_writev(fd, iov, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (!w)
				errno = ENOSPC;
			return -1;
		}
		while (n && (size_t)w >= iov->iov_len) {
			w -= iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (uint8_t *)iov->iov_base + w;
			iov->iov_len -= w;
		}
	}
	return 0;
}

/* The file of @seq: written, durable (with sync), renamed.  0 or -errno. */
static int write_file(struct spool *s, const struct spool_header *h,
		      const void *body)
{
	char tmp[TMP_LEN], name[NAME_LEN];
	struct iovec iov[2] = {
		{ (void *)h, sizeof(*h) },
		{ (void *)body, h->body_len },
	};
	int fd, err = 0;

	tmp_name_of(tmp, h->seq);
	name_of(name, h->seq);
	fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    0600);
	if (fd < 0)
		return -errno;
	if (write_all(fd, iov, h->body_len ? 2 : 1) ||
	    (s->sync && fdatasync(fd)))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && renameat(s->dirfd, tmp, s->dirfd, name))
		err = -errno;
	if (err) {
		unlinkat(s->dirfd, tmp, 0);
		return err;
	}
	/* the rename itself survives a crash once the directory is synced */
	if (s->sync && fsync(s->dirfd))
		log_msg("queue dir %s: fsync: %s", s->dir, strerror(errno));
	return 0;
}

/* Count a refused request; the first of a series is logged. */
static void refuse(struct spool *s, uint32_t nr_spans, const char *why)
{
	atomic_fetch_add(&stats.dropped_spool_full, nr_spans);
	pthread_mutex_lock(&s->lock);
	s->refused_spans += nr_spans;
	if (!s->refusing)
		log_msg("queue dir %s: %s: dropping new requests (counted "
			"dropped_spool_full) until there is room", s->dir, why);
	s->refusing = true;
	pthread_mutex_unlock(&s->lock);
}

int spool_put(struct spool *s, enum spool_encoding enc, uint32_t nr_spans,
	      const void *body, size_t len)
{
	struct spool_header h;
	struct entry e;
	char why[160];
	int err;

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, SPOOL_MAGIC, sizeof(h.magic));
	h.version = SPOOL_VERSION;
	h.header_len = sizeof(h);
	h.body_len = len;
	h.encoding = enc;
	h.nr_spans = nr_spans;
	h.body_crc = (uint32_t)crc32(0, body, (uInt)len);
	e.bytes = blocks_of(sizeof(h) + len);
	e.nr_spans = nr_spans;

	/* room and a number, reserved under the lock; written outside it */
	pthread_mutex_lock(&s->lock);
	if (s->used + e.bytes > s->max_bytes ||
	    s->next_seq == UINT64_MAX || ring_reserve(s)) {
		bool full = s->used + e.bytes > s->max_bytes;
		bool last = s->next_seq == UINT64_MAX;

		pthread_mutex_unlock(&s->lock);
		snprintf(why, sizeof(why), full ?
			 "--queue-max-bytes (%" PRIu64 ") reached" : last ?
			 "sequence numbers used up (empty the dir)" :
			 "out of memory", s->max_bytes);
		refuse(s, nr_spans, why);
		return -1;
	}
	e.seq = h.seq = s->next_seq++;
	s->reserved++;
	account(s, e.bytes);
	/*
	 * Room found: the refusals end here, not when a put that had its
	 * room before them (the other writer's) is written.
	 */
	if (s->refusing) {
		log_msg("queue dir %s: writing again; %" PRIu64 " spans were "
			"dropped meanwhile", s->dir, s->refused_spans);
		s->refusing = false;
		s->refused_spans = 0;
	}
	pthread_mutex_unlock(&s->lock);

	h.header_crc = header_crc(&h);
	err = write_file(s, &h, body);

	pthread_mutex_lock(&s->lock);
	s->reserved--;
	if (err) {
		account(s, -(int64_t)e.bytes);
		pthread_mutex_unlock(&s->lock);
		atomic_fetch_add(&stats.spool_write_errors, 1);
		snprintf(why, sizeof(why), "writing a request: %s",
			 strerror(-err));
		refuse(s, nr_spans, why);
		return -1;
	}
	/*
	 * In sequence order but for a put that overtook another: taking is
	 * oldest first only as far as the writers' order goes.
	 */
	ring_push_tail(s, &e);
	s->spans += nr_spans;
	atomic_fetch_add(&stats.spans_spooled, nr_spans);
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int spool_take(struct spool *s, struct spool_item *it)
{
	struct spool_header h;
	char name[NAME_LEN];
	const char *bad;
	struct entry e;
	uint64_t size;

	for (;;) {
		pthread_mutex_lock(&s->lock);
		while (!s->stopped && !s->len && !s->sealed)
			pthread_cond_wait(&s->cond, &s->lock);
		if (s->stopped || !s->len) {
			pthread_mutex_unlock(&s->lock);
			return 0;
		}
		e = ring_pop_head(s);
		s->taken++;
		pthread_mutex_unlock(&s->lock);

		bad = read_file(s, e.seq, &h, &it->body, &size);
		if (!bad) {
			it->seq = e.seq;
			it->nr_spans = h.nr_spans;
			it->encoding = h.encoding;
			return 1;
		}
		name_of(name, e.seq);
		drop_file(s, name, bad);
		/* its spans, known since it was written or loaded, are lost */
		atomic_fetch_add(&stats.dropped_export_failed, e.nr_spans);
		pthread_mutex_lock(&s->lock);
		s->taken--;
		s->spans -= e.nr_spans;
		account(s, -(int64_t)e.bytes);
		pthread_mutex_unlock(&s->lock);
	}
}

void spool_done(struct spool *s, const struct spool_item *it)
{
	char name[NAME_LEN];

	name_of(name, it->seq);
	if (unlinkat(s->dirfd, name, 0))
		log_msg("queue dir %s: %s: %s", s->dir, name, strerror(errno));
	pthread_mutex_lock(&s->lock);
	s->taken--;
	s->spans -= it->nr_spans;
	account(s, -(int64_t)blocks_of(sizeof(struct spool_header) +
				       it->body.len));
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

void spool_keep(struct spool *s, const struct spool_item *it)
{
	struct entry e = {
		.seq = it->seq,
		.bytes = blocks_of(sizeof(struct spool_header) + it->body.len),
		.nr_spans = it->nr_spans,
	};

	pthread_mutex_lock(&s->lock);
	s->taken--;
	ring_push_head(s, &e);	/* its slot was kept (ring_reserve()) */
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

void spool_seal(struct spool *s)
{
	pthread_mutex_lock(&s->lock);
	s->sealed = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

void spool_interrupt(struct spool *s)
{
	pthread_mutex_lock(&s->lock);
	s->interrupted = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

bool spool_stopping(struct spool *s)
{
	bool v;

	pthread_mutex_lock(&s->lock);
	v = s->interrupted;
	pthread_mutex_unlock(&s->lock);
	return v;
}

void spool_stop(struct spool *s)
{
	pthread_mutex_lock(&s->lock);
	s->stopped = s->interrupted = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

bool spool_sleep(struct spool *s, uint64_t ms)
{
	struct timespec until;
	bool slept;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	while (!s->interrupted &&
	       pthread_cond_timedwait(&s->cond, &s->lock, &until) != ETIMEDOUT)
		;
	slept = !s->interrupted;
	pthread_mutex_unlock(&s->lock);
	return slept;
}

size_t spool_files(struct spool *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = s->len + s->taken;
	pthread_mutex_unlock(&s->lock);
	return n;
}

uint64_t spool_spans(struct spool *s)
{
	uint64_t n;

	pthread_mutex_lock(&s->lock);
	n = s->spans;
	pthread_mutex_unlock(&s->lock);
	return n;
}

uint64_t spool_bytes(struct spool *s)
{
	uint64_t n;

	pthread_mutex_lock(&s->lock);
	n = s->used;
	pthread_mutex_unlock(&s->lock);
	return n;
}

int spool_dir_prepare(const char *dir, const char *user, char *why,
		      size_t whylen)
{
	struct passwd *pw;
	struct stat st;

	if (mkdir(dir, 0700) && errno != EEXIST) {
		snprintf(why, whylen, "%s", strerror(errno));
		return -1;
	}
	if (!user || geteuid() || stat(dir, &st) || st.st_uid)
		return 0;
	pw = getpwnam(user);
	if (!pw)
		return 0;	/* drop_privileges() says so */
	if (chown(dir, pw->pw_uid, pw->pw_gid)) {
		snprintf(why, whylen, "chown to %s: %s", user, strerror(errno));
		return -1;
	}
	return 0;
}
