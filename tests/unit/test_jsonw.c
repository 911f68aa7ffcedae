/* test_jsonw.c - lib/core/jsonw: the text is vg_json_dump's, byte for byte. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "core/buf.h"
#include "core/json.h"
#include "core/jsonw.h"
#include "core/timeutil.h"
#include "vt.h"

/* What vg_json_dump makes of the string s (n bytes), NULL when jansson
 * refuses it; the caller frees. */
static char *
dump_string(const char *s, size_t n)
{
	json_t *v = json_stringn(s, n);
	char *text = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

	json_decref(v);
	return text;
}

/* vg_jsonw_strn's text for s into b (reset first); its outcome. */
static enum vg_err
write_string(struct vg_buf *b, const char *s, size_t n)
{
	struct vg_jsonw w;

	vg_buf_reset(b);
	vg_jsonw_init(&w, b);
	return vg_jsonw_strn(&w, s, n);
}

/* Strings with every kind of character an escape rule is about. */
static void
test_strings_like_jansson(void)
{
	static const struct { const char *s; size_t n; const char *want; } cases[] = {
		{"", 0, "\"\""},
		{"plain text", 10, "\"plain text\""},
		{"q\"b\\s/", 6, "\"q\\\"b\\\\s/\""},
		{"\b\f\n\r\t", 5, "\"\\b\\f\\n\\r\\t\""},
		{"\x01\x1f\x0b", 3, "\"\\u0001\\u001F\\u000B\""},
		{"a\0b", 3, "\"a\\u0000b\""},
		{"\x7f", 1, "\"\x7f\""},
		{"\xc3\xa9\xe2\x80\xa8\xe2\x80\xa9", 8, "\"\xc3\xa9\xe2\x80\xa8\xe2\x80\xa9\""},
		{"\xf0\x9f\x98\x80 \xef\xbb\xbf", 8, "\"\xf0\x9f\x98\x80 \xef\xbb\xbf\""},
		{"</script>", 9, "\"</script>\""},
	};
	struct vg_buf b;
	char *want;
	size_t i;

	vg_buf_init(&b, 1 << 20);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		want = dump_string(cases[i].s, cases[i].n);
		VT_EQ_STR(want, cases[i].want, "jansson writes the expected text");
		VT_EQ_INT(write_string(&b, cases[i].s, cases[i].n), VG_OK, cases[i].want);
		VT_OK(b.len == strlen(cases[i].want) &&
		    memcmp(b.data, cases[i].want, b.len) == 0, cases[i].want);
		free(want);
	}
	vg_buf_free(&b);
}

/* What is not UTF-8 is refused, as jansson refuses it. */
static void
test_invalid_utf8(void)
{
	static const struct { const char *s; size_t n; const char *name; } cases[] = {
		{"\x80", 1, "stray continuation byte"},
		{"\xc3", 1, "truncated two-byte sequence"},
		{"\xc0\xaf", 2, "overlong '/'"},
		{"\xe0\x80\xaf", 3, "overlong three-byte"},
		{"\xf0\x80\x80\xaf", 4, "overlong four-byte"},
		{"\xed\xa0\x80", 3, "surrogate"},
		{"\xf4\x90\x80\x80", 4, "past U+10FFFF"},
		{"\xff", 1, "0xff"},
		{"ok\xe2\x82", 5, "truncated at the end"},
	};
	struct vg_buf b;
	struct vg_jsonw w;
	char *dumped;
	size_t i;

	vg_buf_init(&b, 1 << 20);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		dumped = dump_string(cases[i].s, cases[i].n);
		VT_OK(dumped == NULL, cases[i].name);
		free(dumped);
		VT_EQ_INT(write_string(&b, cases[i].s, cases[i].n), VG_ERR_INVALID, cases[i].name);
	}
	/* the error sticks: later writes do nothing */
	vg_buf_reset(&b);
	vg_jsonw_init(&w, &b);
	vg_jsonw_array(&w);
	vg_jsonw_strn(&w, "\x80", 1);
	VT_EQ_INT(vg_jsonw_int(&w, 1), VG_ERR_INVALID, "a later write returns the first error");
	VT_EQ_INT(w.err, VG_ERR_INVALID, "and the writer keeps it");
	vg_buf_free(&b);
}

/* Random strings over bytes the rules care about, short and long (past
 * the writer's short-string path): the same text as jansson's whenever
 * jansson takes the string, refused when it does not. */
static void
test_random_strings(void)
{
	/* the valid pieces first: a long string is drawn from them alone */
	static const char *const pieces[] = {
		"a", "Z", " ", "/", "\"", "\\", "\n", "\t", "\x01", "\x1f", "\x7f", "\0",
		"\xc3\xa9", "\xe2\x80\xa8", "\xf0\x9f\x98\x80", "\xef\xbf\xbd", "plain text run ",
		"\x80", "\xc3", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe0\xa4",
	};
	const size_t valid = 17, all = sizeof pieces / sizeof pieces[0];
	struct vg_buf b;
	char s[4096], *want;
	size_t n, k, len, agree = 0, refused = 0, runs = 3000, i, longest = 0;
	unsigned seed = 12345;
	enum vg_err err;

	vg_buf_init(&b, 1 << 20);
	for (i = 0; i < runs; i++) {
		n = 0;
		for (k = rand_r(&seed) % (i % 3 ? 24 : 160); k > 0; k--) {
			const char *p = pieces[rand_r(&seed) % (i % 3 ? all : valid)];

			len = *p ? strlen(p) : 1;
			memcpy(s + n, p, len);
			n += len;
		}
		want = dump_string(s, n);
		err = write_string(&b, s, n);
		if (want && err == VG_OK && b.len == strlen(want) &&
		    memcmp(b.data, want, b.len) == 0) {
			agree++;
			longest = n > longest ? n : longest;
		}
		else if (!want && err == VG_ERR_INVALID)
			refused++;
		free(want);
	}
	VT_EQ_INT(agree + refused, runs, "every random string is written as jansson writes it");
	VT_OK(agree > 100 && refused > 100, "both kinds were drawn");
	VT_OK(longest > 400, "long strings were written alike");
	vg_buf_free(&b);
}

/* Whole values, parsed and written back: vg_json_dump's text. */
static void
test_values_like_dump(void)
{
	static const char *const docs[] = {
		"{}", "[]", "[[],{},[{}]]",
		"{\"b\":1,\"a\":[1,-2,9223372036854775807,-9223372036854775808],\"c\":null}",
		"{\"r\":[0.5,1.0,-3.25,1e300,1.7976931348623157e308,5e-324,100000000000000000000.0]}",
		"[true,false,null,\"x\\u0000y\",\"\\u00e9\\ud83d\\ude00\\/\"]",
		"{\"nested\":{\"deeper\":{\"list\":[{\"k\":\"v\"},{\"k\":\"w\"}]}},\"z\":\"\"}",
		"{\"same\":1,\"order\":2,\"as\":3,\"inserted\":4}",
	};
	struct vg_buf b;
	struct vg_jsonw w;
	json_t *v;
	char *want;
	size_t i;

	vg_buf_init(&b, 1 << 20);
	for (i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		v = json_loads(docs[i], JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		want = v ? vg_json_dump(v) : NULL;
		vg_buf_reset(&b);
		vg_jsonw_init(&w, &b);
		VT_EQ_INT(vg_jsonw_value(&w, v), VG_OK, docs[i]);
		VT_EQ_STR(vg_buf_str(&b), want, docs[i]);
		free(want);
		json_decref(v);
	}
	vg_buf_free(&b);
}

/* Writing by hand: commas where they belong, keys escaped, null for an
 * empty optional string. */
static void
test_structure(void)
{
	struct vg_buf b;
	struct vg_jsonw w;

	vg_buf_init(&b, 1 << 20);
	vg_jsonw_init(&w, &b);
	vg_jsonw_object(&w);
	vg_jsonw_key(&w, "items");
	vg_jsonw_array(&w);
	vg_jsonw_int(&w, 1);
	vg_jsonw_str(&w, "x");
	vg_jsonw_null(&w);
	vg_jsonw_object(&w);
	vg_jsonw_object_end(&w);
	vg_jsonw_array(&w);
	vg_jsonw_array_end(&w);
	vg_jsonw_array_end(&w);
	vg_jsonw_key(&w, "k\"ey");
	vg_jsonw_str_or_null(&w, "");
	vg_jsonw_key(&w, "o");
	vg_jsonw_str_or_null(&w, NULL);
	vg_jsonw_key(&w, "s");
	vg_jsonw_str_or_null(&w, "v");
	VT_EQ_INT(vg_jsonw_object_end(&w), VG_OK, "written");
	VT_EQ_STR(vg_buf_str(&b), "{\"items\":[1,\"x\",null,{},[]],\"k\\\"ey\":null,\"o\":null,"
	    "\"s\":\"v\"}", "commas, escaped key, nulls");
	vg_buf_free(&b);
}

/* The buffer's maximum and a tree too deep are errors, not crashes. */
static void
test_limits(void)
{
	struct vg_buf b;
	struct vg_jsonw w;
	json_t *root = json_array(), *a = root, *inner;
	int i;

	vg_buf_init(&b, 8);
	vg_jsonw_init(&w, &b);
	VT_EQ_INT(vg_jsonw_str(&w, "0123456789"), VG_ERR_TOO_LARGE, "past the maximum");
	VT_EQ_INT(vg_jsonw_null(&w), VG_ERR_TOO_LARGE, "stays failed");
	vg_buf_free(&b);

	for (i = 0; i < 2100; i++) {
		inner = json_array();
		json_array_append_new(a, inner);
		a = inner;
	}
	vg_buf_init(&b, 1 << 20);
	vg_jsonw_init(&w, &b);
	VT_EQ_INT(vg_jsonw_value(&w, root), VG_ERR_INVALID, "nesting past the limit");
	vg_buf_free(&b);
	vg_jsonw_init(&w, &b);
	VT_EQ_INT(vg_jsonw_value(&w, NULL), VG_ERR_INVALID, "no value");
	json_decref(root);
}

/* Times: the text vg_time_format gives, quoted, for edges and for many
 * times drawn at random from year 1 to 9999 and beyond. */
static void
test_times(void)
{
	static const int64_t edges[] = {
		1, -1, 999999, 1000000, -1000000, -1000001, 1763750000123456LL,
		951782400000000LL /* 2000-02-29 */, 4107542399999999LL /* 2100-02-28 end */,
		-62135596800000000LL /* 0001-01-01 */, -62167219200000000LL /* 0000-01-01 */,
		-62167219200000001LL, 253402300799999999LL /* 9999-12-31 end */,
		253402300800000000LL, INT64_MAX, INT64_MIN, INT64_MIN + 1,
	};
	struct vg_buf b;
	struct vg_jsonw w;
	char at[VG_TIME_RFC3339_LEN], want[VG_TIME_RFC3339_LEN + 2];
	size_t i, same = 0, n = 0;
	unsigned seed = 777;
	int64_t us;

	vg_buf_init(&b, 1 << 20);
	for (i = 0; i < sizeof edges / sizeof edges[0] + 20000; i++) {
		if (i < sizeof edges / sizeof edges[0]) {
			us = edges[i];
		} else {
			/* -6.3e16 .. 2.6e17: years 1 to past 9999 */
			us = (int64_t)(((uint64_t)rand_r(&seed) << 33 ^ (uint64_t)rand_r(&seed) << 11 ^
			    (uint64_t)rand_r(&seed)) % 320000000000000000ULL) - 63000000000000000LL;
		}
		vg_time_format(us, at);
		snprintf(want, sizeof want, "\"%s\"", at);
		vg_buf_reset(&b);
		vg_jsonw_init(&w, &b);
		if (vg_jsonw_time(&w, us) == VG_OK && strcmp(vg_buf_str(&b), want) == 0)
			same++;
		else
			printf("# %lld: %s, want %s\n", (long long)us, vg_buf_str(&b), want);
		n++;
	}
	VT_EQ_INT(same, n, "every time written as vg_time_format writes it");
	vg_buf_free(&b);
}

int
main(void)
{
	test_strings_like_jansson();
	test_invalid_utf8();
	test_random_strings();
	test_values_like_dump();
	test_structure();
	test_limits();
	test_times();
	return vt_done();
}
