// SPDX-License-Identifier: GPL-2.0
/*
 * The Resource every exported span shares: the host and OS detected here,
 * the telemetry.sdk.* identity of oteld, OTEL_RESOURCE_ATTRIBUTES on top,
 * and service.name from OTEL_SERVICE_NAME on top of everything (as the SDKs
 * do); without either, service.name is unknown_service:oteld.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "oteld.h"

static int set(struct resource *r, const char *key, const char *val)
{
	struct attr *a = NULL, *n;
	size_t i;

	for (i = 0; i < r->nr; i++)
		if (!strcmp(r->attrs[i].key, key))
			a = &r->attrs[i];
	if (!a) {
		n = realloc(r->attrs, (r->nr + 1) * sizeof(*n));
		if (!n)
			return -1;
		r->attrs = n;
		a = &r->attrs[r->nr];
		memset(a, 0, sizeof(*a));
		a->key = strdup(key);
		if (!a->key)
			return -1;
		a->type = OTEL_ATTR_STRING;
		r->nr++;
	}
	free(a->str);
	a->str = strdup(val);
	return a->str ? 0 : -1;
}

/* Semantic conventions' host.arch values. */
static const char *arch_name(const char *machine)
{
	static const char *const map[][2] = {
		{ "x86_64", "amd64" }, { "aarch64", "arm64" },
		{ "i386", "x86" }, { "i686", "x86" }, { "armv7l", "arm32" },
		{ "ppc64le", "ppc64" }, { "ppc64", "ppc64" },
		{ "s390x", "s390x" },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(machine, map[i][0]))
			return map[i][1];
	return machine;
}

static void os_pretty_name(char *out, size_t len, const struct utsname *u)
{
	FILE *f = fopen("/etc/os-release", "r");
	char line[256];

	snprintf(out, len, "Linux %s", u->release);
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *v, *e;

		if (strncmp(line, "PRETTY_NAME=", 12))
			continue;
		v = line + 12;
		if (*v == '"')
			v++;
		e = v + strcspn(v, "\"\n");
		*e = '\0';
		snprintf(out, len, "%s (Linux %s)", v, u->release);
		break;
	}
	fclose(f);
}

static void machine_id(char *out, size_t len)
{
	static const char *const paths[] = { "/etc/machine-id",
					     "/var/lib/dbus/machine-id" };
	size_t i;

	*out = '\0';
	for (i = 0; i < 2 && !*out; i++) {
		FILE *f = fopen(paths[i], "r");

		if (!f)
			continue;
		if (!fgets(out, len, f))
			*out = '\0';
		out[strcspn(out, "\r\n")] = '\0';
		fclose(f);
	}
}

/* Spaces and tabs around @s[0..*len): W3C Baggage's OWS. */
static const char *trim_ows(const char *s, size_t *len)
{
	while (*len && (*s == ' ' || *s == '\t')) {
		s++;
		(*len)--;
	}
	while (*len && (s[*len - 1] == ' ' || s[*len - 1] == '\t'))
		(*len)--;
	return s;
}

/* @s[0..len) percent-decoded into *@out; -1 (with @why) on a %00. */
static int decode_part(const char *s, size_t len, unsigned int member,
		       const char *what, char **out, char *why, size_t whylen)
{
	size_t n;

	*out = percent_decode_n(s, len, &n);
	if (!*out) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	if (strlen(*out) != n) {
		snprintf(why, whylen, "member %u: a NUL (%%00) in the %s",
			 member, what);
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/*
 * OTEL_RESOURCE_ATTRIBUTES (the SDK environment specification): W3C
 * Baggage's format without properties, "key1=value1,key2=value2", spaces
 * and tabs around keys, values and commas left out (OWS), keys and values
 * percent-decoded, every value a string.  An empty member is skipped; a
 * member without '=', an empty key or a %00 is an error (-1, with @why).
 */
int resource_parse(struct resource *r, const char *s, char *why,
		   size_t whylen)
{
	const char *p = s;
	unsigned int member = 0;

	while (*p) {
		const char *end = p + strcspn(p, ","), *eq, *k0, *v0;
		size_t klen, vlen, mlen = end - p;
		char *k = NULL, *v = NULL;
		int ret;

		trim_ows(p, &mlen);
		eq = memchr(p, '=', end - p);
		member++;
		if (!mlen) {
			/* an empty member: nothing lost */
		} else if (!eq) {
			snprintf(why, whylen, "member %u: no '=' (expected "
				 "key=value,key=value)", member);
			return -1;
		} else {
			klen = eq - p;
			vlen = end - eq - 1;
			k0 = trim_ows(p, &klen);
			v0 = trim_ows(eq + 1, &vlen);
			if (!klen) {
				snprintf(why, whylen, "member %u: an empty key",
					 member);
				return -1;
			}
			if (decode_part(k0, klen, member, "key", &k, why,
					whylen) ||
			    decode_part(v0, vlen, member, "value", &v, why,
					whylen)) {
				free(k);
				return -1;
			}
			ret = set(r, k, v);
			free(k);
			free(v);
			if (ret) {
				snprintf(why, whylen, "out of memory");
				return -1;
			}
		}
		p = *end ? end + 1 : end;
	}
	return 0;
}

int resource_build(struct resource *r, const struct config *c)
{
	struct utsname u;
	char host[256] = "", desc[512], id[128], why[128];

	memset(r, 0, sizeof(*r));
	uname(&u);
	gethostname(host, sizeof(host) - 1);
	os_pretty_name(desc, sizeof(desc), &u);
	machine_id(id, sizeof(id));
	if (set(r, "service.name", "unknown_service:oteld") ||
	    set(r, "host.name", host) ||
	    set(r, "host.arch", arch_name(u.machine)) ||
	    (*id && set(r, "host.id", id)) ||
	    set(r, "os.type", "linux") ||
	    set(r, "os.version", u.release) ||
	    set(r, "os.description", desc) ||
	    set(r, "telemetry.sdk.name", "oteltrace") ||
	    set(r, "telemetry.sdk.language", "c") ||
	    set(r, "telemetry.sdk.version", OTELD_VERSION))
		goto err;
	if (c->resource_attrs &&
	    resource_parse(r, c->resource_attrs, why, sizeof(why))) {
		/* config_load() checked it: only out of memory gets here */
		fprintf(stderr, "oteld: resource attributes: %s\n", why);
		goto err;
	}
	if (c->service_name && set(r, "service.name", c->service_name))
		goto err;
	return 0;
err:
	resource_free(r);
	return -1;
}

void resource_free(struct resource *r)
{
	size_t i;

	for (i = 0; i < r->nr; i++) {
		free(r->attrs[i].key);
		free(r->attrs[i].str);
	}
	free(r->attrs);
	memset(r, 0, sizeof(*r));
}
