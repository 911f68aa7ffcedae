/* test_acache.c - lib/core/acache: answers found only under their key and
 * version, replaced, bounded, least recently used evicted first. */
#include "config.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/acache.h"
#include "vt.h"

/* Whether key at version holds exactly want. */
static bool
holds(const char *key, const char *version, const char *want)
{
	char *data = NULL;
	size_t len = 0;
	bool ok = vg_acache_get(key, version, &data, &len);

	ok = ok && want && len == strlen(want) && memcmp(data, want, len) == 0 &&
	    data[len] == '\0';
	free(data);
	return ok;
}

static bool
absent(const char *key, const char *version)
{
	char *data = (char *)"x";
	size_t len = 7;
	bool found = vg_acache_get(key, version, &data, &len);

	return !found && data == NULL && len == 0;
}

static void
test_key_and_version(void)
{
	vg_acache_clear();
	VT_OK(absent("/a?limit=50", "1"), "nothing kept at first");
	vg_acache_put("/a?limit=50", "1", "{\"items\":[]}", 12);
	VT_OK(holds("/a?limit=50", "1", "{\"items\":[]}"), "found under its key and version");
	VT_OK(absent("/a?limit=50", "2"), "a newer version does not find the older answer");
	VT_OK(absent("/a?limit=5", "1"), "another key does not find it");
	VT_OK(absent("/a?limit=500", "1"), "a longer key does not find it");
	vg_acache_put("/a?limit=50", "2", "{\"items\":[1]}", 13);
	VT_OK(holds("/a?limit=50", "2", "{\"items\":[1]}"), "a put replaces the key's answer");
	VT_OK(absent("/a?limit=50", "1"), "the replaced version is gone");
	vg_acache_put("/empty", "1", NULL, 0);
	VT_OK(holds("/empty", "1", ""), "an empty answer is kept");
	vg_acache_put("/bad", "1", NULL, 3);
	VT_OK(absent("/bad", "1"), "n bytes of nothing are not kept");
	VT_OK(absent(NULL, "1") && absent("/a?limit=50", NULL), "NULL key or version: none");
	vg_acache_clear();
	VT_OK(absent("/a?limit=50", "2"), "clear drops everything");
}

static void
test_bounds(void)
{
	char *big = malloc(VG_ACACHE_ANSWER_MAX + 2), *key = malloc(VG_ACACHE_KEY_MAX + 2);

	vg_acache_clear();
	memset(big, 'a', VG_ACACHE_ANSWER_MAX + 1);
	big[VG_ACACHE_ANSWER_MAX + 1] = '\0';
	vg_acache_put("/big", "1", big, VG_ACACHE_ANSWER_MAX + 1);
	VT_OK(absent("/big", "1"), "an answer over the maximum is not kept");
	vg_acache_put("/big", "1", big, VG_ACACHE_ANSWER_MAX);
	big[VG_ACACHE_ANSWER_MAX] = '\0';
	VT_OK(holds("/big", "1", big), "an answer of exactly the maximum is kept");
	memset(key, 'k', VG_ACACHE_KEY_MAX + 1);
	key[VG_ACACHE_KEY_MAX + 1] = '\0';
	vg_acache_put(key, "1", "x", 1);
	VT_OK(absent(key, "1"), "a key over the maximum is not kept");
	vg_acache_put("/v", key, "x", 1);
	VT_OK(absent("/v", key), "a version over the maximum is not kept");
	key[VG_ACACHE_KEY_MAX] = '\0';
	vg_acache_put(key, "1", "x", 1);
	VT_OK(holds(key, "1", "x"), "a key of exactly the maximum is kept");
	vg_acache_clear();
	free(big);
	free(key);
}

static void
test_least_recently_used_goes(void)
{
	char key[32];
	int i, kept = 0;

	vg_acache_clear();
	for (i = 0; i < VG_ACACHE_ENTRIES; i++) {
		snprintf(key, sizeof key, "/k%d", i);
		vg_acache_put(key, "1", key, strlen(key));
	}
	/* /k0 is used again, so /k1 is now the least recently used. */
	VT_OK(holds("/k0", "1", "/k0"), "the first answer is still there");
	vg_acache_put("/new", "1", "new", 3);
	VT_OK(holds("/new", "1", "new"), "a new answer past the bound is kept");
	VT_OK(holds("/k0", "1", "/k0"), "the recently used answer stayed");
	VT_OK(absent("/k1", "1"), "the least recently used answer went");
	for (i = 0; i < VG_ACACHE_ENTRIES; i++) {
		snprintf(key, sizeof key, "/k%d", i);
		kept += holds(key, "1", key);
	}
	VT_EQ_INT(kept, VG_ACACHE_ENTRIES - 1, "every other answer stayed");
	vg_acache_clear();
}

/* Threads putting and getting the same keys: every answer found is one
 * that was put under that key and version, whole. */
static void *
worker(void *arg)
{
	long id = (long)arg, bad = 0;
	char key[16], version[16], want[64], *data;
	size_t len;
	int i;

	for (i = 0; i < 2000; i++) {
		snprintf(key, sizeof key, "/t%d", i % 40);
		snprintf(version, sizeof version, "%d", i % 3);
		snprintf(want, sizeof want, "answer of %s at %s", key, version);
		if (((long)i + id) % 2)
			vg_acache_put(key, version, want, strlen(want));
		else if (vg_acache_get(key, version, &data, &len)) {
			bad += len != strlen(want) || strcmp(data, want) != 0;
			free(data);
		}
	}
	return (void *)bad;
}

static void
test_threads(void)
{
	pthread_t t[4];
	void *bad;
	long total = 0;
	long i;

	vg_acache_clear();
	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], &bad);
		total += (long)bad;
	}
	VT_EQ_INT(total, 0, "concurrent gets find only whole answers of their key and version");
	vg_acache_clear();
}

int
main(void)
{
	test_key_and_version();
	test_bounds();
	test_least_recently_used_goes();
	test_threads();
	return vt_done();
}
