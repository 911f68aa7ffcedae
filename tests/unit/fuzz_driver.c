/*
 * fuzz_driver.c - run a libFuzzer target inside `make check`, without
 * libFuzzer.
 *
 * Link this file with one file that defines LLVMFuzzerTestOneInput (and
 * optionally LLVMFuzzerInitialize), compiled with
 *     -DVG_FUZZ_CORPUS='"name"' -DVG_FUZZ_SRCDIR='"$(abs_top_srcdir)"'
 * It feeds the target every file in tests/fixtures/fuzz/<name>/ (under
 * $VEGA_SRCDIR when set, else VG_FUZZ_SRCDIR), then a bounded number of
 * deterministic pseudo-random mutations of them: byte flips, interesting
 * bytes and tokens, insertions, deletions, duplications, splices and
 * truncations.  Each input is passed in a buffer of exactly its size, so
 * the sanitizer build catches a read one byte past the end.
 *
 * Environment: VG_FUZZ_ITERATIONS (default 20000), VG_FUZZ_SEED (default
 * 1).  With file arguments it runs only those files (to replay a crash
 * found by the real fuzzer).  Output is TAP; a crash fails the test.
 *
 * A new target needs only a seed directory and, in its local.mk:
 *   UNIT_TESTS += tests/unit/fuzz_NAME
 *   tests_unit_fuzz_NAME_SOURCES = lib/X/fuzz_NAME.c tests/unit/fuzz_driver.c
 *   tests_unit_fuzz_NAME_CPPFLAGS = $(AM_CPPFLAGS) \
 *       -DVG_FUZZ_CORPUS='"NAME"' -DVG_FUZZ_SRCDIR='"$(abs_top_srcdir)"'
 */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "vt.h"

#ifndef VG_FUZZ_CORPUS
#error "compile with -DVG_FUZZ_CORPUS='\"name\"'"
#endif
#ifndef VG_FUZZ_SRCDIR
#define VG_FUZZ_SRCDIR "."
#endif

#define MAX_SEEDS 512
#define FUZZ_MAX_INPUT (256u * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

struct input {
	unsigned char *data;
	size_t len;
};

static struct input seeds[MAX_SEEDS];
static size_t nseeds;
static uint64_t rng_state;

/* xorshift64*: deterministic, so a failing run can be repeated. */
static uint64_t
rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static size_t
rnd_below(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

/* Read a whole file (at most FUZZ_MAX_INPUT bytes) into a new buffer. */
static int
read_file(const char *path, struct input *in)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t n = 0;
	int ok = 0;

	if (!f)
		return 0;
	if (!(buf = malloc(FUZZ_MAX_INPUT)))
		goto out;
	n = fread(buf, 1, FUZZ_MAX_INPUT, f);
	if (ferror(f))
		goto out;
	in->data = buf;
	in->len = n;
	buf = NULL;
	ok = 1;
out:
	free(buf);
	fclose(f);
	return ok;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Load every regular file of the corpus directory, in name order so the
 * mutation sequence does not depend on the directory's order. */
static size_t
load_seeds(const char *dir)
{
	char *names[MAX_SEEDS];
	size_t n = 0, i;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL && n < MAX_SEEDS) {
		if (de->d_name[0] == '.')
			continue;
		if (!(names[n] = strdup(de->d_name)))
			break;
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof names[0], cmp_names);
	for (i = 0; i < n; i++) {
		char path[4096 + 512];
		struct stat st;

		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    read_file(path, &seeds[nseeds]))
			nseeds++;
		free(names[i]);
	}
	return nseeds;
}

/* Run one input from a buffer of exactly its size. */
static int
run_one(const unsigned char *p, size_t n)
{
	unsigned char *copy = malloc(n ? n : 1);
	int rc;

	if (!copy)
		return -2;
	if (n)
		memcpy(copy, p, n);
	rc = LLVMFuzzerTestOneInput(copy, n);
	free(copy);
	return rc;
}

static const unsigned char interesting_bytes[] = {
	0x00, 0x01, 0x7f, 0x80, 0xff, 0xc0, 0xc3, 0xe2, 0xed, 0xf0, 0xf4, 0xf8,
	'%', '&', '=', '+', '/', '?', '#', '.', '{', '}', '[', ']', '"', '\\',
	':', ',', ';', ' ', '\t', '\r', '\n', '0', '9', 'a', 'F', '-',
};

static const char *const interesting_tokens[] = {
	"%", "%2", "%2F", "%2f", "%00", "%zz", "%C3%28", "%c3%a9", "%ED%A0%80",
	"..", "/../", "//", "\\u0000", "\\ud800", "\\", "\"", "{}", "[]", "[[[[[[",
	"{\"a\":", "1e99999", "-0", "null", "true", "\xc3\x28", "\xef\xbb\xbf",
	"\r\n", "&&", "==", "a=b", "+", "99999999999999999999",
};

/* Apply one random mutation to buf (len bytes, room for cap). */
static size_t
mutate_once(unsigned char *buf, size_t len, size_t cap)
{
	size_t pos = rnd_below(len + 1), n;
	const struct input *other;

	switch (rnd_below(9)) {
	case 0:   /* flip a bit */
		if (len)
			buf[rnd_below(len)] ^= (unsigned char)(1u << rnd_below(8));
		break;
	case 1:   /* an interesting byte over one */
		if (len)
			buf[rnd_below(len)] = interesting_bytes[rnd_below(sizeof interesting_bytes)];
		break;
	case 2:   /* insert a byte */
		if (len < cap) {
			memmove(buf + pos + 1, buf + pos, len - pos);
			buf[pos] = (unsigned char)rnd();
			len++;
		}
		break;
	case 3:   /* delete a range */
		if (len) {
			pos = rnd_below(len);
			n = 1 + rnd_below(len - pos < 16 ? len - pos : 16);
			memmove(buf + pos, buf + pos + n, len - pos - n);
			len -= n;
		}
		break;
	case 4:   /* duplicate a range */
		if (len) {
			size_t from = rnd_below(len);

			n = 1 + rnd_below(len - from < 64 ? len - from : 64);
			if (len + n <= cap) {
				memmove(buf + pos + n, buf + pos, len - pos);
				memmove(buf + pos, buf + (from < pos ? from : from + n), n);
				len += n;
			}
		}
		break;
	case 5: { /* insert an interesting token */
		const char *t = interesting_tokens[rnd_below(
		    sizeof interesting_tokens / sizeof interesting_tokens[0])];

		n = strlen(t);
		if (len + n <= cap) {
			memmove(buf + pos + n, buf + pos, len - pos);
			memcpy(buf + pos, t, n);
			len += n;
		}
		break;
	}
	case 6:   /* splice: our head, another seed's tail */
		other = &seeds[rnd_below(nseeds)];
		if (other->len) {
			size_t from = rnd_below(other->len);

			n = other->len - from;
			if (pos + n > cap)
				n = cap - pos;
			memcpy(buf + pos, other->data + from, n);
			len = pos + n;
		}
		break;
	case 7:   /* truncate */
		len = pos;
		break;
	default:  /* repeat one byte many times (long runs, deep nesting) */
		if (len) {
			unsigned char c = buf[rnd_below(len)];

			n = 1 + rnd_below(512);
			if (len + n > cap)
				n = cap - len;
			memmove(buf + pos + n, buf + pos, len - pos);
			memset(buf + pos, c, n);
			len += n;
		}
		break;
	}
	return len;
}

int
main(int argc, char **argv)
{
	const char *src = getenv("VEGA_SRCDIR");
	const char *iters_env = getenv("VG_FUZZ_ITERATIONS");
	const char *seed_env = getenv("VG_FUZZ_SEED");
	long iterations = iters_env ? strtol(iters_env, NULL, 10) : 20000;
	char dir[4096];
	unsigned char *buf;
	size_t i, bad = 0;
	long it;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	if (argc > 1) {   /* replay the given files */
		for (i = 1; i < (size_t)argc; i++) {
			struct input in;

			if (!read_file(argv[i], &in)) {
				VT_OK(0, argv[i]);
				continue;
			}
			VT_OK(run_one(in.data, in.len) == 0, argv[i]);
			free(in.data);
		}
		return vt_done();
	}
	rng_state = seed_env ? strtoull(seed_env, NULL, 10) : 1;
	if (rng_state == 0)
		rng_state = 1;
	if (iterations < 0)
		iterations = 0;
	snprintf(dir, sizeof dir, "%s/tests/fixtures/fuzz/%s", src && *src ? src : VG_FUZZ_SRCDIR,
	    VG_FUZZ_CORPUS);
	VT_OK(load_seeds(dir) > 0, "corpus " VG_FUZZ_CORPUS " has seeds");
	if (nseeds == 0) {
		printf("# no seeds in %s: %s\n", dir, strerror(errno));
		return vt_done();
	}
	for (i = 0; i < nseeds; i++) {
		int rc = run_one(seeds[i].data, seeds[i].len);

		if (rc != 0 && rc != -1)
			bad++;
	}
	VT_EQ_INT(bad, 0, "every seed runs");
	buf = malloc(FUZZ_MAX_INPUT);
	if (!buf)
		return 1;
	bad = 0;
	for (it = 0; it < iterations; it++) {
		const struct input *s = &seeds[rnd_below(nseeds)];
		size_t len = s->len, k, rounds = 1 + rnd_below(4);
		int rc;

		memcpy(buf, s->data, len);
		for (k = 0; k < rounds; k++)
			len = mutate_once(buf, len, FUZZ_MAX_INPUT);
		rc = run_one(buf, len);
		if (rc != 0 && rc != -1)
			bad++;
	}
	printf("# %ld mutations of %zu seeds\n", iterations, nseeds);
	VT_EQ_INT(bad, 0, "every mutation runs");
	free(buf);
	for (i = 0; i < nseeds; i++)
		free(seeds[i].data);
	return vt_done();
}
