/*
 * fuzz_bearer.c - fuzz target for the Authorization header parser.
 * Build for libFuzzer: clang -fsanitize=fuzzer,address (see `make fuzz`);
 * `make check` runs it through tests/unit/fuzz_driver.c on the seeds in
 * tests/fixtures/fuzz/bearer/ plus deterministic mutations.
 */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "auth/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	const char *tok = NULL;
	size_t len = 0;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (vg_bearer_parse(s, &tok, &len) == VG_OK) {
		/* The token lies inside the header and is never empty. */
		if (!tok || len == 0 || tok < s || tok + len > s + size)
			abort();
	}
	free(s);
	return 0;
}
