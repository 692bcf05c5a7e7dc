// SPDX-License-Identifier: GPL-2.0
/*
 * The main of a fuzz target when it is not linked with libFuzzer: replay
 * inputs through LLVMFuzzerTestOneInput(), one TAP line each, so that
 * `make check` runs every crash ever found (tests/fuzz/regress/TARGET/) and
 * the seed corpora with gcc's ASan and UBSan, without clang or libFuzzer.
 *
 *   TARGET_replay [FILE|DIR]...
 *
 * Without arguments it replays the directories it was built with (-DDIRS).
 * Each input runs in a child of its own: a crash fails that input only,
 * with the signal or exit status in the TAP line; the target's own output
 * goes to /dev/null (FUZZ_VERBOSE=1 keeps it), the sanitizers' reports to
 * stderr.  Exit status 0 when every input passed.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sanitizer/common_interface_defs.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

struct inputs {
	char **v;
	size_t n, cap;
};

static void add(struct inputs *in, const char *path)
{
	if (in->n == in->cap) {
		in->cap = in->cap ? 2 * in->cap : 64;
		in->v = realloc(in->v, in->cap * sizeof(*in->v));
		if (!in->v)
			abort();
	}
	in->v[in->n] = strdup(path);
	if (!in->v[in->n++])
		abort();
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* @path, or the regular files in it (sorted, no dot files); -1 if missing. */
static int collect(struct inputs *in, const char *path)
{
	struct dirent *d;
	struct stat st;
	size_t first = in->n;
	char file[4096];
	DIR *dir;

	if (stat(path, &st))
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		add(in, path);
		return 0;
	}
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.' || !strcmp(d->d_name, "README"))
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, d->d_name);
		if (!stat(file, &st) && S_ISREG(st.st_mode))
			add(in, file);
	}
	closedir(dir);
	qsort(in->v + first, in->n - first, sizeof(*in->v), by_name);
	return 0;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	do {
		if (n == cap) {
			cap = cap ? 2 * cap : 4096;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
		r = read(fd, buf + n, cap - n);
		if (r > 0)
			n += r;
	} while (r > 0);
	close(fd);
	if (r < 0) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

/* The child: one input, the target's output silenced; exits 0 if it passed. */
static void run_one(const char *path, int argc, char **argv)
{
	uint8_t *data, *copy;
	size_t len = 0;
	int null;

	if (!getenv("FUZZ_VERBOSE")) {
		/* sanitizer reports keep going to the real stderr */
		__sanitizer_set_report_fd((void *)(intptr_t)dup(2));
		null = open("/dev/null", O_WRONLY);
		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
			close(null);
		}
	}
	data = slurp(path, &len);
	if (!data)
		_exit(3);
	/* exact size: ASan sees a read past the input */
	copy = malloc(len ? len : 1);
	if (!copy)
		_exit(3);
	memcpy(copy, data, len);
	free(data);
	LLVMFuzzerInitialize(&argc, &argv);
	LLVMFuzzerTestOneInput(copy, len);
	free(copy);
	exit(0);	/* exit(): LeakSanitizer looks for leaks there */
}

int main(int argc, char **argv)
{
	static const char *const dirs[] = { DIRS };
	struct inputs in = { 0 };
	size_t i, failed = 0;
	int a;

	for (a = 1; a < argc; a++)
		if (collect(&in, argv[a]))
			fprintf(stderr, "%s: %s: no such file or directory\n",
				argv[0], argv[a]);
	if (argc == 1)
		for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
			collect(&in, dirs[i]);
	if (!in.n) {
		printf("1..0 # SKIP no input to replay\n");
		return argc > 1;
	}
	printf("1..%zu\n", in.n);
	fflush(stdout);
	for (i = 0; i < in.n; i++) {
		pid_t pid = fork();
		int status;

		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (!pid)
			run_one(in.v[i], argc, argv);
		if (waitpid(pid, &status, 0) != pid)
			status = -1;
		if (status == 0) {
			printf("ok %zu %s\n", i + 1, in.v[i]);
		} else {
			failed++;
			if (WIFSIGNALED(status))
				printf("not ok %zu %s # killed by signal %d\n",
				       i + 1, in.v[i], WTERMSIG(status));
			else
				printf("not ok %zu %s # exit status %d\n",
				       i + 1, in.v[i], WEXITSTATUS(status));
		}
		fflush(stdout);
	}
	for (i = 0; i < in.n; i++)
		free(in.v[i]);
	free(in.v);
	return failed ? 1 : 0;
}
