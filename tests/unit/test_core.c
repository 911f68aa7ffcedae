/* test_core.c - lib/core: errors, buffers, strings, ids, time, settings, JSON. */
#include "config.h"
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>
#include "core/b64.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "core/id.h"
#include "core/json.h"
#include "core/settings.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "vt.h"

static void
test_err_table(void)
{
	static const struct { enum vg_err e; const char *code; int status; } cases[] = {
		{VG_ERR_INVALID, "validation_failed", 400},
		{VG_ERR_INVALID_JSON, "invalid_json", 400},
		{VG_ERR_UNAUTHORIZED, "invalid_token", 401},
		{VG_ERR_FORBIDDEN, "forbidden", 403},
		{VG_ERR_NOT_FOUND, "not_found", 404},
		{VG_ERR_METHOD, "method_not_allowed", 405},
		{VG_ERR_CONFLICT, "conflict", 409},
		{VG_ERR_TOO_LARGE, "payload_too_large", 413},
		{VG_ERR_MEDIA_TYPE, "unsupported_media_type", 415},
		{VG_ERR_INVALID_ARCHIVE, "invalid_archive", 422},
		{VG_ERR_QUOTA, "quota_exceeded", 429},
		{VG_ERR_RATE_LIMITED, "rate_limited", 429},
		{VG_ERR_UNAVAILABLE, "unavailable", 503},
		{VG_ERR_INTERNAL, "internal", 500},
		{(enum vg_err)999, "internal", 500},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		VT_EQ_STR(vg_err_code(cases[i].e), cases[i].code, "error code");
		VT_EQ_INT(vg_err_status(cases[i].e), cases[i].status, "error status");
	}
	VT_OK(vg_err_retryable(VG_ERR_UNAVAILABLE), "503 is retryable");
	VT_OK(!vg_err_retryable(VG_ERR_INVALID), "400 is not retryable");
}

static void
test_buf(void)
{
	struct vg_buf b;
	char *p;

	vg_buf_init(&b, 10);
	VT_EQ_STR(vg_buf_str(&b), "", "empty buffer is empty string");
	VT_EQ_INT(vg_buf_append_str(&b, "hello"), VG_OK, "append within max");
	VT_EQ_INT(vg_buf_printf(&b, "%d", 1234), VG_OK, "printf within max");
	VT_EQ_STR(vg_buf_str(&b), "hello1234", "contents");
	VT_EQ_INT(vg_buf_append_str(&b, "xy"), VG_ERR_TOO_LARGE, "append past max refused");
	VT_EQ_STR(vg_buf_str(&b), "hello1234", "refused append leaves buffer unchanged");
	VT_EQ_INT(vg_buf_printf(&b, "%s", "ab"), VG_ERR_TOO_LARGE, "printf past max refused");
	VT_EQ_INT(vg_buf_append_char(&b, '!'), VG_OK, "fill to exactly max");
	VT_EQ_INT(b.len, 10, "len at max");
	p = vg_buf_detach(&b);
	VT_EQ_STR(p, "hello1234!", "detach hands over the data");
	VT_OK(b.data == NULL && b.len == 0, "detached buffer is empty");
	free(p);
	vg_buf_free(&b);
	vg_buf_free(&b);  /* twice is harmless */
}

static void
test_str(void)
{
	static const struct { const char *in; int ok; int64_t want; } ints[] = {
		{"0", 1, 0}, {"42", 1, 42}, {"-5", 1, -5}, {"100", 1, 100},
		{"101", 0, 0}, {"-6", 0, 0}, {"", 0, 0}, {" 1", 0, 0}, {"1 ", 0, 0},
		{"1x", 0, 0}, {"0x10", 0, 0}, {"99999999999999999999", 0, 0}, {"+3", 0, 0},
	};
	static const struct { const char *s; size_t n; int ok; } utf8[] = {
		{"plain", 5, 1}, {"caf\xc3\xa9", 5, 1}, {"\xe2\x82\xac", 3, 1},
		{"\xf0\x9f\x98\x80", 4, 1}, {"\xc3", 1, 0}, {"\xc0\xaf", 2, 0},
		{"\xe0\x80\xaf", 3, 0}, {"\xed\xa0\x80", 3, 0}, {"\xf4\x90\x80\x80", 4, 0},
		{"\xff", 1, 0}, {"a\x80", 2, 0},
	};
	char small[4];
	size_t i;
	bool b = false;

	for (i = 0; i < sizeof ints / sizeof ints[0]; i++) {
		int64_t v = 0;
		enum vg_err e = vg_str_to_i64(ints[i].in, -5, 100, &v);

		VT_EQ_INT(e == VG_OK, ints[i].ok, ints[i].in);
		if (ints[i].ok)
			VT_EQ_INT(v, ints[i].want, ints[i].in);
	}
	for (i = 0; i < sizeof utf8 / sizeof utf8[0]; i++)
		VT_EQ_INT(vg_utf8_valid(utf8[i].s, utf8[i].n), utf8[i].ok, "utf-8 case");
	VT_EQ_INT(vg_str_copy(small, sizeof small, "abc"), VG_OK, "copy that fits");
	VT_EQ_INT(vg_str_copy(small, sizeof small, "abcd"), VG_ERR_TOO_LARGE, "copy that does not fit");
	VT_EQ_STR(small, "abc", "truncated copy is terminated");
	VT_OK(vg_str_to_bool("TRUE", &b) == VG_OK && b, "bool true");
	VT_OK(vg_str_to_bool("off", &b) == VG_OK && !b, "bool off");
	VT_EQ_INT(vg_str_to_bool("maybe", &b), VG_ERR_INVALID, "bool garbage");
	VT_OK(vg_ct_equal("abc", "abc", 3) && !vg_ct_equal("abc", "abd", 3), "constant-time compare");
}

static void
test_ids(void)
{
	char a[VG_UUID_LEN + 1], b[VG_UUID_LEN + 1];

	VT_EQ_INT(vg_uuid_new(a), VG_OK, "uuid generated");
	VT_EQ_INT(vg_uuid_new(b), VG_OK, "second uuid generated");
	VT_OK(vg_uuid_valid(a), "generated uuid is valid");
	VT_OK(a[14] == '4', "version 4");
	VT_OK(strchr("89ab", a[19]) != NULL, "RFC 4122 variant");
	VT_OK(strcmp(a, b) != 0, "two uuids differ");
	VT_OK(!vg_uuid_valid("not-a-uuid"), "garbage is not a uuid");
	VT_OK(!vg_uuid_valid("123e4567-e89b-12d3-a456-42661417400"), "short uuid refused");
	VT_OK(!vg_uuid_valid("123e4567ae89b-12d3-a456-426614174000"), "misplaced dash refused");
	VT_OK(vg_uuid_valid("123E4567-E89B-12D3-A456-426614174000"), "upper case accepted");
}

static void
test_time(void)
{
	static const struct { const char *in; int ok; int64_t us; } cases[] = {
		{"1970-01-01T00:00:00Z", 1, 0},
		{"2026-11-21T12:30:00.5Z", 1, 1795264200500000LL},
		{"2026-11-21T14:30:00+02:00", 1, 1795264200000000LL},
		{"2026-11-21", 0, 0}, {"2026-13-01T00:00:00Z", 0, 0},
		{"2026-11-21T12:30:00", 0, 0}, {"2026-11-21T12:30:00Zjunk", 0, 0}, {"", 0, 0},
	};
	char out[VG_TIME_RFC3339_LEN];
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t us = -1;
		enum vg_err e = vg_time_parse(cases[i].in, &us);

		VT_EQ_INT(e == VG_OK, cases[i].ok, cases[i].in);
		if (cases[i].ok)
			VT_EQ_INT(us, cases[i].us, cases[i].in);
	}
	vg_time_format(1795264200500000LL, out);
	VT_EQ_STR(out, "2026-11-21T12:30:00.500000Z", "format RFC 3339 UTC");
	VT_OK(vg_time_now_us() > 1700000000000000LL, "wall clock is sane");
}

static void
test_settings(void)
{
	static const struct { const char *name, *value, *msg_part; } bad[] = {
		{"VEGA_PERSISTENCE_BACKEND", "mysql", "json|postgres"},
		{"VEGA_MAX_ACTIVE_SCANS_PER_USER", "four", "VEGA_MAX_ACTIVE_SCANS_PER_USER"},
		{"VEGA_MAX_ACTIVE_SCANS_PER_USER", "-1", "from 0"},
		{"VEGA_DB_CONNECT_TIMEOUT_SECONDS", "0", "VEGA_DB_CONNECT_TIMEOUT_SECONDS"},
		{"VEGA_LOG_LEVEL", "loud", "debug|info|warn|error"},
	};
	char msg[512];
	size_t i;

	unsetenv("VEGA_PERSISTENCE_BACKEND");
	unsetenv("VEGA_MAX_ACTIVE_SCANS_PER_USER");
	VT_EQ_INT(vg_settings_load(msg, sizeof msg), VG_OK, "defaults load");
	VT_EQ_INT(vg_cfg_int(VG_SET_MAX_ACTIVE_SCANS_PER_USER), 4, "default max active scans");
	VT_EQ_INT(vg_cfg_int(VG_SET_MAX_SOURCE_BYTES), 2147483648LL, "default max source bytes");
	VT_EQ_INT(vg_cfg_int(VG_SET_MAX_ARCHIVE_ENTRIES), 50000, "default archive entries");
	VT_EQ_INT(vg_cfg_int(VG_SET_MAX_ARCHIVE_UNCOMPRESSED_BYTES), 5368709120LL, "default uncompressed");
	VT_EQ_INT(vg_cfg_int(VG_SET_SCAN_RUNNING_STALE_SECONDS), 21600, "default running stale");
	VT_EQ_STR(vg_cfg_str(VG_SET_PERSISTENCE_BACKEND), "json", "default backend");
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		setenv(bad[i].name, bad[i].value, 1);
		msg[0] = '\0';
		VT_EQ_INT(vg_settings_load(msg, sizeof msg), VG_ERR_INVALID, bad[i].name);
		VT_OK(strstr(msg, bad[i].msg_part) != NULL, "message names what is accepted");
		unsetenv(bad[i].name);
	}
	setenv("VEGA_PERSISTENCE_BACKEND", "postgres", 1);
	unsetenv("VEGA_DATABASE_URL");
	VT_EQ_INT(vg_settings_load(msg, sizeof msg), VG_ERR_INVALID, "postgres needs a URL");
	VT_OK(strstr(msg, "VEGA_DATABASE_URL") != NULL, "message names VEGA_DATABASE_URL");
	unsetenv("VEGA_PERSISTENCE_BACKEND");
	VT_EQ_INT(vg_settings_load(msg, sizeof msg), VG_OK, "defaults load again");
}

static void
test_json(void)
{
	static const struct { const char *in; int ok; } docs[] = {
		{"{\"a\":1}", 1}, {"[1,2]", 1}, {"{", 0}, {"", 0}, {"{\"a\":1}x", 0},
		{"{\"a\":\"\xff\"}", 0}, {"{\"a\":\"\\u0000\"}", 0}, {"{\"a\":1,\"a\":2}", 0},
		{"nul\0l", 0},
	};
	json_t *v = NULL;
	const char *s = NULL;
	int64_t n = 0;
	size_t i;

	for (i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		VT_EQ_INT(vg_json_parse(docs[i].in, strlen(docs[i].in), &v) == VG_OK,
		    docs[i].ok, docs[i].in);
		json_decref(v);
	}
	{
		const char *doc = "{\"name\":\"x\",\"n\":7,\"e\":\"\"}";

		VT_EQ_INT(vg_json_parse(doc, strlen(doc), &v), VG_OK, "parse object");
	}
	VT_EQ_INT(vg_json_get_str(v, "name", true, 10, &s), VG_OK, "required string");
	VT_EQ_STR(s, "x", "string value");
	VT_EQ_INT(vg_json_get_str(v, "missing", true, 10, &s), VG_ERR_INVALID, "missing required");
	VT_EQ_INT(vg_json_get_str(v, "missing", false, 10, &s), VG_OK, "missing optional");
	VT_OK(s == NULL, "missing optional is NULL");
	VT_EQ_INT(vg_json_get_str(v, "n", false, 10, &s), VG_ERR_INVALID, "wrong type");
	VT_EQ_INT(vg_json_get_str(v, "e", true, 10, &s), VG_ERR_INVALID, "empty required");
	VT_EQ_INT(vg_json_get_str(v, "name", true, 0, &s), VG_ERR_INVALID, "too long");
	VT_EQ_INT(vg_json_get_int(v, "n", true, 0, 10, &n), VG_OK, "int in range");
	VT_EQ_INT(n, 7, "int value");
	VT_EQ_INT(vg_json_get_int(v, "n", true, 0, 5, &n), VG_ERR_INVALID, "int out of range");
	json_decref(v);
}

static void
test_b64(void)
{
	static const struct { const char *raw, *enc; } cases[] = {
		{"", ""}, {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"}, {"foob", "Zm9vYg"},
		{"\xfb\xff", "-_8"},
	};
	static const char *const bad[] = {"Z", "Zm9v!", "Zh", "Zm9vY===", "a b"};
	char enc[16];
	unsigned char dec[16];
	size_t i, n = 0;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		VT_EQ_INT(vg_b64url_encode((const unsigned char *)cases[i].raw,
		    strlen(cases[i].raw), enc, sizeof enc), VG_OK, "encode");
		VT_EQ_STR(enc, cases[i].enc, "encoded form");
		VT_EQ_INT(vg_b64url_decode(cases[i].enc, dec, sizeof dec, &n), VG_OK, "decode");
		VT_OK(n == strlen(cases[i].raw) && memcmp(dec, cases[i].raw, n) == 0, "round trip");
	}
	VT_EQ_INT(vg_b64url_decode("Zm9vYg==", dec, sizeof dec, &n), VG_OK, "padding accepted");
	VT_EQ_INT(vg_b64url_decode("+/8", dec, sizeof dec, &n), VG_OK, "standard alphabet accepted");
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		VT_OK(vg_b64url_decode(bad[i], dec, sizeof dec, &n) == VG_ERR_INVALID, bad[i]);
	VT_EQ_INT(vg_b64url_decode("Zm9vYmFy", dec, 3, &n), VG_ERR_TOO_LARGE, "output too small");
	VT_EQ_INT(vg_b64url_encode((const unsigned char *)"foo", 3, enc, 4), VG_ERR_TOO_LARGE,
	    "encode buffer too small");
}

static void
test_fsutil(void)
{
	char root[] = "/tmp/vega-fsutil.XXXXXX", path[512], outside[512];
	struct stat st;
	FILE *fp;

	VT_OK(mkdtemp(root) != NULL, "temp dir");
	snprintf(path, sizeof path, "%s/a/b/c", root);
	VT_EQ_INT(vg_fs_mkdir_p(path, 0750), VG_OK, "mkdir -p");
	VT_EQ_INT(vg_fs_mkdir_p(path, 0750), VG_OK, "mkdir -p again");
	VT_OK(stat(path, &st) == 0 && S_ISDIR(st.st_mode), "nested directory exists");
	VT_EQ_INT(vg_fs_sync_dir(path), VG_OK, "sync a directory");
	VT_EQ_INT(vg_fs_sync_dir("/nonexistent/vega"), VG_ERR_IO, "sync a missing directory");
	/* A canary outside the tree, linked from inside: it must survive. */
	snprintf(outside, sizeof outside, "%s-canary", root);
	fp = fopen(outside, "w");
	fputs("keep", fp);
	fclose(fp);
	snprintf(path, sizeof path, "%s/a/b/link", root);
	VT_OK(symlink(outside, path) == 0, "link to the canary");
	snprintf(path, sizeof path, "%s/a/dirlink", root);
	VT_OK(symlink("/tmp", path) == 0, "link to a directory");
	snprintf(path, sizeof path, "%s/a/b/c/file", root);
	fp = fopen(path, "w");
	fclose(fp);
	{
		char *data = NULL;
		size_t len = 99;

		VT_EQ_INT(vg_fs_read_file(outside, 4, &data, &len), VG_OK, "read a file at its max");
		VT_EQ_STR(data ? data : "", "keep", "its bytes, NUL-terminated");
		VT_EQ_INT((long)len, 4, "and its length");
		free(data);
		VT_EQ_INT(vg_fs_read_file(outside, 3, &data, &len), VG_ERR_TOO_LARGE,
		    "one byte over max is refused");
		VT_OK(data == NULL && len == 0, "with nothing handed out");
		VT_EQ_INT(vg_fs_read_file("/nonexistent/vega", 4, &data, &len), VG_ERR_NOT_FOUND,
		    "a missing file");
		VT_EQ_INT(vg_fs_read_file(root, 4, &data, &len), VG_ERR_IO, "a directory");
	}
	snprintf(path, sizeof path, "%s/a", root);
	VT_EQ_INT(vg_fs_count_entries(path), 2, "entries directly in a/: b and dirlink");
	VT_EQ_INT(vg_fs_count_files(root), 3, "files below root: link, dirlink, file");
	VT_EQ_INT(vg_fs_count_files("/nonexistent/vega"), 0, "a missing dir counts 0");
	VT_EQ_INT(vg_fs_remove_tree(root), VG_OK, "remove the tree");
	VT_OK(stat(root, &st) != 0, "tree is gone");
	VT_OK(stat(outside, &st) == 0, "the linked canary survives");
	VT_OK(stat("/tmp", &st) == 0, "the linked directory survives");
	VT_EQ_INT(vg_fs_remove_tree(root), VG_OK, "removing a missing path is fine");
	VT_EQ_INT(vg_fs_remove_tree(""), VG_ERR_INVALID, "empty path refused");
	VT_EQ_INT(vg_fs_remove_tree("/tmp/.."), VG_ERR_INVALID, "dot-dot refused");
	unlink(outside);
}

int
main(void)
{
	test_fsutil();
	test_b64();
	test_err_table();
	test_buf();
	test_str();
	test_ids();
	test_time();
	test_settings();
	test_json();
	return vt_done();
}
