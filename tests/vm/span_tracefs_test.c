// SPDX-License-Identifier: GPL-2.0
/*
 * oteltrace's own trace events: oteltrace:kspan_begin / kspan_end appear in
 * tracefs with the span's name, ids, parent, kind and final status (kind
 * and status by name: kind=internal, status=ok), agree with the records,
 * and also show spans the sampler dropped (sampled=0).
 */
#include "kselftest_harness.h"
#include "span_util.h"

#define TRACING	"/sys/kernel/tracing/"

FIXTURE(tracefs) {
	int fd;
	struct rec_db db;
	char *trace;
};

static char *read_all(const char *path)
{
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap);
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0 || !buf) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += n;
		if (cap - len < 4096) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				break;
		}
	}
	close(fd);
	if (buf)
		buf[len] = '\0';
	return buf;
}

FIXTURE_SETUP(tracefs)
{
	rec_db_init(&self->db);
	self->trace = NULL;
	self->fd = -1;
	if (access(TRACING "events/oteltrace", F_OK) && access(TRACING "trace", F_OK))
		SKIP(return, "no tracefs at " TRACING);
	self->fd = span_load(NULL, SPANTEST_KO);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, access(TRACING "events/oteltrace/kspan_begin", F_OK));
	ASSERT_EQ(0, access(TRACING "events/oteltrace/kspan_end", F_OK));
	/* Empty the trace buffer, then enable only our events. */
	close(open(TRACING "trace", O_WRONLY | O_TRUNC));
	ASSERT_EQ(0, span_write_file(TRACING "events/oteltrace/enable", "1"));
}

FIXTURE_TEARDOWN(tracefs)
{
	span_write_file(TRACING "events/oteltrace/enable", "0");
	free(self->trace);
	rec_db_free(&self->db);
	span_unload(self->fd);
}

/* The trace line of @event for the span with @span_id, or NULL. */
static const char *find_line(const char *trace, const char *event,
			     const uint8_t *span_id, char *line, size_t size)
{
	char key[64];
	const char *p, *eol, *bol;

	snprintf(key, sizeof(key), "span_id=%s ", span_hex(span_id, 8));
	for (p = strstr(trace, key); p; p = strstr(p + 1, key)) {
		bol = p;
		while (bol > trace && bol[-1] != '\n')
			bol--;
		eol = strchr(p, '\n');
		if (!eol)
			eol = p + strlen(p);
		if ((size_t)(eol - bol) >= size)
			continue;
		memcpy(line, bol, eol - bol);
		line[eol - bol] = '\0';
		if (strstr(line, event))
			return line;
	}
	return NULL;
}

/* How the events print enum otel_status_code. */
static const char *status_name(unsigned int status)
{
	switch (status) {
	case OTEL_STATUS_UNSET:
		return "unset";
	case OTEL_STATUS_OK:
		return "ok";
	case OTEL_STATUS_ERROR:
		return "error";
	}
	return "?";
}

TEST_F(tracefs, begin_and_end_events_match_records)
{
	const char *names[] = { "t.status.ok", "t.status.error" };
	const struct rec_span *s;
	char line[1024], want[512];
	size_t i;

	ASSERT_EQ(0, span_cmd("status"));
	ASSERT_EQ(0, span_write_file(TRACING "events/oteltrace/enable", "0"));
	ASSERT_LT(0, rec_drain(self->fd, &self->db));
	self->trace = read_all(TRACING "trace");
	ASSERT_NE(NULL, self->trace);

	for (i = 0; i < 2; i++) {
		s = rec_find(&self->db, names[i], 0);
		ASSERT_NE(NULL, s);
		snprintf(want, sizeof(want),
			 "kspan_begin: name=%s trace_id=%s span_id=%s parent_id=0000000000000000 kind=internal sampled=1 status=unset",
			 s->name, span_hex(s->trace_id, 16),
			 span_hex(s->span_id, 8));
		ASSERT_NE(NULL, find_line(self->trace, "kspan_begin:",
					  s->span_id, line, sizeof(line)))
			TH_LOG("no kspan_begin for %s", s->name);
		EXPECT_NE(NULL, strstr(line, want)) TH_LOG("%s", line);

		ASSERT_NE(NULL, find_line(self->trace, "kspan_end:",
					  s->span_id, line, sizeof(line)))
			TH_LOG("no kspan_end for %s", s->name);
		snprintf(want, sizeof(want), "name=%s ", s->name);
		EXPECT_NE(NULL, strstr(line, want)) TH_LOG("%s", line);
		snprintf(want, sizeof(want), "status=%s",
			 status_name(s->status));
		EXPECT_NE(NULL, strstr(line, want)) TH_LOG("%s", line);
	}
}

TEST_F(tracefs, children_show_their_parent)
{
	const struct rec_span *s, *up;
	char line[512], want[64];
	size_t i, n = 0;

	ASSERT_EQ(0, span_cmd("nest 3"));
	ASSERT_EQ(0, span_write_file(TRACING "events/oteltrace/enable", "0"));
	ASSERT_LT(0, rec_drain(self->fd, &self->db));
	self->trace = read_all(TRACING "trace");
	ASSERT_NE(NULL, self->trace);
	for (i = 0; i < self->db.nr; i++) {
		s = self->db.spans[i];
		if (strcmp(s->name, "t.nest"))
			continue;
		up = rec_by_id(&self->db, s->parent_id);
		if (!up)
			continue;
		n++;
		ASSERT_NE(NULL, find_line(self->trace, "kspan_begin:",
					  s->span_id, line, sizeof(line)));
		snprintf(want, sizeof(want), "parent_id=%s ",
			 span_hex(up->span_id, 8));
		EXPECT_NE(NULL, strstr(line, want)) TH_LOG("%s", line);
	}
	EXPECT_EQ(2, n);
}

TEST_F(tracefs, unsampled_spans_are_traced)
{
	ASSERT_EQ(0, span_sampler("always_off", 1000000));
	ASSERT_EQ(0, span_cmd("roots 5"));
	ASSERT_EQ(0, span_write_file(TRACING "events/oteltrace/enable", "0"));
	ASSERT_LE(0, rec_drain(self->fd, &self->db));
	EXPECT_EQ(0, self->db.nr);
	self->trace = read_all(TRACING "trace");
	ASSERT_NE(NULL, self->trace);
	EXPECT_NE(NULL, strstr(self->trace, "kspan_begin: name=t.root "));
	EXPECT_NE(NULL, strstr(self->trace, "sampled=0"));
	EXPECT_EQ(NULL, strstr(self->trace, "sampled=1"));
}

TEST_HARNESS_MAIN
