/*
 * fuzz_query.c - fuzz target for the query-string parser and the
 * percent-decoder.
 *
 * libFuzzer:  ./configure CC=clang && make fuzz
 *             lib/http/fuzz-query tests/fixtures/fuzz/http-query/
 * make check runs it through tests/unit/fuzz_driver.c on the seeds in
 * tests/fixtures/fuzz/http-query/ plus deterministic mutations.
 */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/str.h"
#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct vg_query *q = NULL;
	const char *why = NULL;
	char *dec = malloc(size + 1);
	size_t i, len = 0;

	if (!dec)
		return 0;
	/* the decoder never writes more than it read, plus the NUL */
	if (vg_http_pct_decode(s, size, true, dec, &len) == VG_OK && len > size)
		abort();
	free(dec);

	if (vg_query_parse(s, size, &q, &why) == VG_OK) {
		if (!q || why || vg_query_len(q) > VG_HTTP_MAX_QUERY_PARAMS)
			abort();
		for (i = 0; i < vg_query_len(q); i++) {
			const char *k = vg_query_key(q, i), *v = vg_query_value(q, i);

			if (!k || !v || !*k || !vg_utf8_valid(k, strlen(k)) ||
			    !vg_utf8_valid(v, strlen(v)) || strlen(k) + strlen(v) > size)
				abort();
			if (!vg_query_get(q, k) || vg_query_count(q, k) == 0)
				abort();
		}
	} else if (q || !why) {
		abort();
	}
	vg_query_free(q);
	return 0;
}
