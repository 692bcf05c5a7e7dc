// SPDX-License-Identifier: GPL-2.0
/* Capture files: write what the rings gave, read it back for --input. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capture.h"

struct capture {
	FILE *f;
	const char *path;
	uint32_t flags;
	bool failed;
	uint64_t pos;		/* reading: bytes read so far */
	uint64_t frames;	/* reading: frames read so far */
};

struct capture *capture_create(const char *path, const struct anchor *a,
			       uint32_t nr_cpus, uint32_t flags)
{
	struct capture_header h = { .version = CAPTURE_VERSION,
				    .abi_version = OTEL_ABI_VERSION };
	struct capture *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->path = path;
	c->f = fopen(path, "wbx");
	if (!c->f && errno == EEXIST)
		c->f = fopen(path, "wb");
	if (!c->f) {
		log_msg("%s: %s", path, strerror(errno));
		free(c);
		return NULL;
	}
	memcpy(h.magic, CAPTURE_MAGIC, sizeof(h.magic));
	h.mono_ns = a->mono_ns;
	h.real_ns = a->real_ns;
	h.nr_cpus = nr_cpus;
	h.flags = flags;
	if (fwrite(&h, sizeof(h), 1, c->f) != 1)
		c->failed = true;
	return c;
}

int capture_write(struct capture *c, uint32_t type, const void *p,
		  size_t len)
{
	static const uint8_t pad[8];
	struct capture_frame fr = { type, (uint32_t)len };

	if (len > CAPTURE_MAX_FRAME || c->failed)
		return -1;
	if (fwrite(&fr, sizeof(fr), 1, c->f) != 1 ||
	    (len && fwrite(p, len, 1, c->f) != 1) ||
	    (len % 8 && fwrite(pad, 8 - len % 8, 1, c->f) != 1)) {
		log_msg("%s: write failed; capture stopped", c->path);
		c->failed = true;
		return -1;
	}
	return 0;
}

uint32_t capture_flags(const struct capture *c)
{
	return c->flags;
}

int capture_close(struct capture *c)
{
	int ret;

	if (!c)
		return 0;
	ret = fclose(c->f) || c->failed ? -1 : 0;
	free(c);
	return ret;
}

struct capture *capture_open(const char *path, struct anchor *a)
{
	struct capture *c = calloc(1, sizeof(*c));
	struct capture_header h;
	struct stat st;

	if (!c)
		return NULL;
	c->path = path;
	c->f = fopen(path, "rb");
	if (!c->f) {
		log_msg("%s: %s", path, strerror(errno));
		free(c);
		return NULL;
	}
	/*
	 * A FIFO (a stand-in for the rings) is read unbuffered: what oteld
	 * took from it is what it replayed, whole frames when its writer
	 * writes each in one write(); a stop leaves the rest in the FIFO.
	 */
	if (!fstat(fileno(c->f), &st) && S_ISFIFO(st.st_mode))
		setvbuf(c->f, NULL, _IONBF, 0);
	if (fread(&h, sizeof(h), 1, c->f) != 1 ||
	    memcmp(h.magic, CAPTURE_MAGIC, sizeof(h.magic)) ||
	    h.version != CAPTURE_VERSION) {
		log_msg("%s: not an oteld capture file", path);
		goto err;
	}
	if (h.abi_version != OTEL_ABI_VERSION) {
		log_msg("%s: records of ABI %u, oteld reads ABI %d", path,
			h.abi_version, OTEL_ABI_VERSION);
		goto err;
	}
	a->mono_ns = h.mono_ns;
	a->real_ns = h.real_ns;
	c->flags = h.flags;
	c->pos = sizeof(h);
	return c;
err:
	fclose(c->f);
	free(c);
	return NULL;
}

/* What fread() got of @len bytes, and where the file ended if short. */
static size_t read_part(struct capture *c, void *p, size_t len)
{
	size_t n = fread(p, 1, len, c->f);

	c->pos += n;
	return n;
}

/*
 * A file that ends inside a frame was cut short (a writer killed, a full
 * disk): say where.  What there is of a RECORDS frame's bytes is handed
 * on (CAPTURE_CUT): its whole records are kept, the record cut in two is
 * counted corrupt by the assembler.
 */
int capture_next(struct capture *c, uint32_t *type, struct buf *out)
{
	struct capture_frame fr;
	size_t padded, n;

	n = read_part(c, &fr, sizeof(fr));
	if (n != sizeof(fr)) {
		if (ferror(c->f)) {
			log_msg("%s: %s", c->path, strerror(errno));
			return -1;
		}
		if (!n)
			return 0;
		log_msg("%s: cut at byte %llu, inside the header of frame %llu "
			"(%zu of its 8 bytes)", c->path,
			(unsigned long long)c->pos,
			(unsigned long long)c->frames + 1, n);
		return -1;
	}
	c->frames++;
	if (fr.len > CAPTURE_MAX_FRAME) {
		log_msg("%s: frame %llu at byte %llu: %u bytes: corrupt file",
			c->path, (unsigned long long)c->frames,
			(unsigned long long)(c->pos - sizeof(fr)), fr.len);
		return -1;
	}
	padded = (fr.len + 7) & ~7u;
	out->len = 0;
	if (buf_reserve(out, padded)) {
		log_msg("%s: out of memory for a frame of %u bytes", c->path,
			fr.len);
		return -1;
	}
	n = padded ? read_part(c, out->data, padded) : 0;
	*type = fr.type;
	if (n < padded && ferror(c->f)) {
		log_msg("%s: %s", c->path, strerror(errno));
		return -1;
	}
	if (n < fr.len) {
		log_msg("%s: cut at byte %llu, inside frame %llu (type %u, %zu "
			"of its %u bytes)", c->path,
			(unsigned long long)c->pos,
			(unsigned long long)c->frames, fr.type, n, fr.len);
		out->len = n;
		return CAPTURE_CUT;
	}
	/* the padding alone is missing: the frame is whole */
	out->len = fr.len;
	return 1;
}
