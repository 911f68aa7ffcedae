/*
 * acache.h - answers a process keeps and serves again while what they
 * were made from has not changed: a deliberate per-process cache
 * (DESIGN.md section 9), never the source of truth.
 *
 * An answer is kept under a key (what was asked: a route with its
 * parameters) and a version (the state it was made from, e.g. a
 * repository's findings_version).  A get finds it only under the same
 * key and the same version, so a caller that reads the current version
 * before it answers never serves an answer older than that state.  A put
 * under a key replaces what the key held.
 *
 * Bounded: at most VG_ACACHE_ENTRIES answers, each at most
 * VG_ACACHE_ANSWER_MAX bytes (a larger one is not kept), keys and
 * versions at most VG_ACACHE_KEY_MAX bytes; the least recently used
 * answer goes first.  Guarded by a mutex.
 */
#ifndef VG_CORE_ACACHE_H
#define VG_CORE_ACACHE_H

#include <stdbool.h>
#include <stddef.h>

#define VG_ACACHE_ENTRIES 32
#define VG_ACACHE_ANSWER_MAX ((size_t)1 << 20)
#define VG_ACACHE_KEY_MAX 2048

/*
 * The answer kept under key at version: a malloc'd copy into *data (NUL
 * terminated, the caller frees) and its length into *len; false when
 * none is kept (or memory ran out).
 */
bool vg_acache_get(const char *key, const char *version, char **data, size_t *len);

/* Keep the n bytes at data under key at version (copied); silently
 * nothing when too large or out of memory. */
void vg_acache_put(const char *key, const char *version, const char *data, size_t n);

/* Drop every kept answer. */
void vg_acache_clear(void);

#endif
