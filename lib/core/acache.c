/*
 * acache.c - answers kept per process (see acache.h).  A small array
 * searched in order: with 32 entries a scan costs less than the hashing
 * a table would need, and recency is a counter per entry.
 */
#include "config.h"
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/acache.h"

struct entry {
	char *key;          /* NULL: a free slot */
	char *version;
	char *data;         /* NUL terminated */
	size_t len;
	uint64_t used;      /* the clock when last got or put */
};

static struct {
	pthread_mutex_t lock;
	struct entry e[VG_ACACHE_ENTRIES];
	uint64_t clock;
} cache = {PTHREAD_MUTEX_INITIALIZER, {{0}}, 0};

static void
entry_clear(struct entry *e)
{
	free(e->key);
	free(e->version);
	free(e->data);
	memset(e, 0, sizeof *e);
}

/* The entry of key, or NULL.  Under the lock. */
static struct entry *
find(const char *key)
{
	size_t i;

	for (i = 0; i < VG_ACACHE_ENTRIES; i++)
		if (cache.e[i].key && strcmp(cache.e[i].key, key) == 0)
			return &cache.e[i];
	return NULL;
}

/* The slot a new key takes: a free one, else the least recently used.
 * Under the lock. */
static struct entry *
victim(void)
{
	struct entry *best = &cache.e[0];
	size_t i;

	for (i = 0; i < VG_ACACHE_ENTRIES; i++) {
		if (!cache.e[i].key)
			return &cache.e[i];
		if (cache.e[i].used < best->used)
			best = &cache.e[i];
	}
	return best;
}

static bool
fits(const char *key, const char *version, size_t n)
{
	return key && version && strlen(key) <= VG_ACACHE_KEY_MAX &&
	    strlen(version) <= VG_ACACHE_KEY_MAX && n <= VG_ACACHE_ANSWER_MAX;
}

bool
vg_acache_get(const char *key, const char *version, char **data, size_t *len)
{
	struct entry *e;
	bool found = false;

	*data = NULL;
	*len = 0;
	if (!fits(key, version, 0))
		return false;
	pthread_mutex_lock(&cache.lock);
	e = find(key);
	if (e && strcmp(e->version, version) == 0 && (*data = malloc(e->len + 1))) {
		memcpy(*data, e->data, e->len + 1);
		*len = e->len;
		e->used = ++cache.clock;
		found = true;
	}
	pthread_mutex_unlock(&cache.lock);
	return found;
}

void
vg_acache_put(const char *key, const char *version, const char *data, size_t n)
{
	struct entry *e, fresh = {0};

	if (!fits(key, version, n) || (n && !data))
		return;
	fresh.key = strdup(key);
	fresh.version = strdup(version);
	if (!fresh.key || !fresh.version || !(fresh.data = malloc(n + 1))) {
		entry_clear(&fresh);
		return;
	}
	if (n)
		memcpy(fresh.data, data, n);
	fresh.data[n] = '\0';
	fresh.len = n;
	pthread_mutex_lock(&cache.lock);
	if (!(e = find(key)))
		e = victim();
	entry_clear(e);
	*e = fresh;
	e->used = ++cache.clock;
	pthread_mutex_unlock(&cache.lock);
}

void
vg_acache_clear(void)
{
	size_t i;

	pthread_mutex_lock(&cache.lock);
	for (i = 0; i < VG_ACACHE_ENTRIES; i++)
		entry_clear(&cache.e[i]);
	pthread_mutex_unlock(&cache.lock);
}
