/*
 * finding.h - fingerprints, masking and in-scan deduplication of findings
 * (the public struct is in engine.h).
 */
#ifndef VG_ENGINE_FINDING_H
#define VG_ENGINE_FINDING_H

#include <stddef.h>
#include <stdint.h>
#include "engine/engine.h"

/*
 * Fingerprint = SHA-256 over "vg1", rule id, path, function, normalized
 * statement text and occurrence index, NUL-separated; lower-case hex into
 * out.  No line numbers go in, so moving code keeps it.
 */
void vg_finding_fingerprint(const char *rule_id, const char *path,
    const char *function, const char *normalized, unsigned occurrence,
    char out[VG_FINGERPRINT_LEN + 1]);

/*
 * Write a masked form of the secret (n bytes at s) into out (size bytes):
 * up to 4 leading characters kept when the secret is long enough that they
 * reveal nothing useful (>= 16), the rest replaced by '*' (at most 8).
 */
void vg_secret_mask(const char *s, size_t n, char *out, size_t size);

/*
 * The findings of one scan, deduplicated: an exact fingerprint repeat is
 * dropped, and a finding at the same path, line and first CWE as an
 * earlier one merges into it (the higher severity and confidence win; the
 * other rule is listed in also_rules).
 */
struct vg_finding_set {
	struct vg_finding **items;
	size_t n, cap;
};

void vg_finding_set_init(struct vg_finding_set *s);
void vg_finding_set_free(struct vg_finding_set *s);
/*
 * Add f (ownership passes to the set, also on error).  *out_index is the
 * index of the finding that now holds it; *added is 1 when new, 0 when
 * merged into an existing one, and *changed whether that one changed.
 */
enum vg_err vg_finding_set_add(struct vg_finding_set *s, struct vg_finding *f,
    size_t *out_index, int *added, int *changed);

#endif
