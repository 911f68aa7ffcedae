/*
 * common.c - what ingest and extract share: name rules, error reports,
 * limits, keys, and the UTF-8 locale libarchive is run under.
 */
#include "config.h"
#include <archive.h>
#include <ctype.h>
#include <errno.h>
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "archive/archive.h"
#include "archive/archive_int.h"
#include "core/settings.h"
#include "core/str.h"

void
vg_archive_limits_from_settings(struct vg_archive_limits *lim)
{
	lim->source_bytes = vg_cfg_int(VG_SET_MAX_SOURCE_BYTES);
	lim->entries = vg_cfg_int(VG_SET_MAX_ARCHIVE_ENTRIES);
	lim->file_bytes = vg_cfg_int(VG_SET_MAX_ARCHIVE_FILE_BYTES);
	lim->total_bytes = vg_cfg_int(VG_SET_MAX_ARCHIVE_UNCOMPRESSED_BYTES);
}

enum vg_err
vg_archive_input_fill(struct vg_archive_input *in, unsigned char *dst, size_t cap, size_t *got)
{
	enum vg_err err;

	*got = 0;
	if (in->eof)
		return VG_OK;
	if ((err = in->fn(in->ctx, dst, cap, got)) != VG_OK || *got > cap) {
		in->err = err != VG_OK ? err : VG_ERR_INTERNAL;
		*got = 0;
		return in->err;
	}
	if (*got == 0) {
		in->eof = true;
		return VG_OK;
	}
	*in->count += *got;
	if (*in->count > in->limit) {
		in->over = true;
		return VG_ERR_TOO_LARGE;
	}
	return VG_OK;
}

enum vg_err
vg_archive_input_sniff(struct vg_archive_input *in, size_t n)
{
	enum vg_err err;
	size_t got;

	while (in->pending < n && !in->eof) {
		err = vg_archive_input_fill(in, in->buf + in->pending, in->cap - in->pending, &got);
		if (err != VG_OK)
			return err;
		in->pending += got;
	}
	return VG_OK;
}

la_ssize_t
vg_archive_input_la_read(struct archive *a, void *ud, const void **buff)
{
	struct vg_archive_input *in = ud;
	size_t got = 0;

	*buff = in->buf;
	if (in->pending) {
		got = in->pending;
		in->pending = 0;
		return (la_ssize_t)got;
	}
	if (vg_archive_input_fill(in, in->buf, in->cap, &got) != VG_OK) {
		archive_set_error(a, EIO, "input stream failed");
		return -1;
	}
	return (la_ssize_t)got;
}

void
vg_archive_result_clear(struct vg_archive_result *res)
{
	if (!res)
		return;
	json_decref(res->languages);
	memset(res, 0, sizeof *res);
}

enum vg_err
vg_archive_keys(const char *digest, char tar_key[VG_ARCHIVE_KEY_MAX],
    char manifest_key[VG_ARCHIVE_KEY_MAX])
{
	size_t i;

	if (!digest || strlen(digest) != 64)
		return VG_ERR_INVALID;
	for (i = 0; i < 64; i++)
		if (!((digest[i] >= '0' && digest[i] <= '9') || (digest[i] >= 'a' && digest[i] <= 'f')))
			return VG_ERR_INVALID;
	snprintf(tar_key, VG_ARCHIVE_KEY_MAX, "snapshots/%s.tar", digest);
	snprintf(manifest_key, VG_ARCHIVE_KEY_MAX, "snapshots/%s.manifest.json", digest);
	return VG_OK;
}

static bool
has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/*
 * Walk the components of raw once: drop "" and ".", refuse "..", bound
 * each component and the whole.  Checks run from the most telling reason
 * to the least, so "/../x" is reported as absolute.
 */
const char *
vg_archive_path_normalize(const char *raw, char *out, size_t outsz)
{
	const char *p = raw, *end;
	size_t len = 0, n, depth = 0;

	if (outsz == 0)
		return "invalid_name";
	out[0] = '\0';
	if (!raw || !*raw)
		return "invalid_name";
	if (raw[0] == '/')
		return "absolute_path";
	if (!vg_utf8_valid(raw, strlen(raw)))
		return "invalid_utf8_name";
	if (has_control(raw))
		return "invalid_name";
	while (*p) {
		end = strchr(p, '/');
		n = end ? (size_t)(end - p) : strlen(p);
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return "path_traversal";
		if (n > VG_ARCHIVE_NAME_MAX)
			return "path_too_long";
		if (n > 0 && !(n == 1 && p[0] == '.')) {
			if (len + (len ? 1 : 0) + n >= outsz || len + (len ? 1 : 0) + n > VG_ARCHIVE_PATH_MAX)
				return "path_too_long";
			if (++depth > VG_ARCHIVE_DEPTH_MAX)
				return "path_too_long";
			if (len)
				out[len++] = '/';
			memcpy(out + len, p, n);
			len += n;
			out[len] = '\0';
		}
		p += n;
		if (*p == '/')
			p++;
	}
	return NULL;
}

/*
 * Resolve target against the link's directory by names alone: each ".."
 * climbs one level, and climbing above the root leaves the tree.  Links
 * are never stored in a snapshot, so chains through other links cannot
 * matter; this only tells a hostile or broken archive apart.
 */
const char *
vg_archive_link_check(const char *path, const char *target)
{
	const char *p;
	long depth = 0;
	size_t n;

	if (!target || !*target)
		return "invalid_name";
	if (!vg_utf8_valid(target, strlen(target)))
		return "invalid_utf8_name";
	if (has_control(target))
		return "invalid_name";
	if (target[0] == '/')
		return "link_outside_tree";
	for (p = path; *p; p++)   /* the link's directory: one level per '/' */
		if (*p == '/')
			depth++;
	for (p = target; *p;) {
		const char *end = strchr(p, '/');

		n = end ? (size_t)(end - p) : strlen(p);
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (--depth < 0)
				return "link_outside_tree";
		} else if (n > 0 && !(n == 1 && p[0] == '.')) {
			depth++;
		}
		p += n;
		if (*p == '/')
			p++;
	}
	return NULL;
}

void
vg_archive_show_path(const char *raw, char *out, size_t outsz)
{
	size_t o = 0;
	const unsigned char *p;

	if (outsz == 0)
		return;
	out[0] = '\0';
	if (!raw)
		return;
	for (p = (const unsigned char *)raw; *p; p++) {
		if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
			if (o + 1 >= outsz)
				break;
			out[o++] = (char)*p;
		} else {
			if (o + 4 >= outsz)
				break;
			snprintf(out + o, outsz - o, "\\x%02x", *p);
			o += 4;
		}
	}
	out[o] = '\0';
}

enum vg_err
vg_archive_refuse(struct vg_archive_result *res, const char *reason, const char *raw_path)
{
	vg_str_copy(res->reason, sizeof res->reason, reason);
	vg_archive_show_path(raw_path, res->path, sizeof res->path);
	return strcmp(reason, "source_too_large") == 0 ? VG_ERR_TOO_LARGE : VG_ERR_INVALID_ARCHIVE;
}

/* libarchive says an input ended early in these words (gzip, xz, zstd,
 * tar and zip readers alike). */
static const char *const truncation_words[] = {
	"truncated", "premature end", "unexpected end",
	"no progress is possible",   /* liblzma's word for input that stops */
};

const char *
vg_archive_la_reason(struct archive *a)
{
	const char *msg = archive_error_string(a);
	char low[256];
	size_t i;

	if (!msg)
		return "corrupt";
	for (i = 0; msg[i] && i < sizeof low - 1; i++)
		low[i] = (char)tolower((unsigned char)msg[i]);
	low[i] = '\0';
	for (i = 0; i < sizeof truncation_words / sizeof truncation_words[0]; i++)
		if (strstr(low, truncation_words[i]))
			return "truncated";
	return "corrupt";
}

/* Why a header came with a warning: a name that would not convert, or
 * an inconsistency (a zip's central directory against a local header). */
const char *
vg_archive_warn_reason(struct archive *a, const char *raw)
{
	const char *msg = archive_error_string(a);

	if (raw && !vg_utf8_valid(raw, strlen(raw)))
		return "invalid_utf8_name";
	if (msg && strstr(msg, "convert"))
		return "invalid_utf8_name";
	return "corrupt";
}

/*
 * libarchive converts names to the current locale's charset: under "C" a
 * UTF-8 name in a pax header fails to convert, and raw bytes are taken as
 * they are.  Under C.UTF-8 both arrive as their bytes, which the name
 * rules then check.  uselocale() changes only this thread.  The locale
 * object is made once per process and kept.
 */
static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void
utf8_init(void)
{
	utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	if (utf8_locale == (locale_t)0)
		utf8_locale = newlocale(LC_CTYPE_MASK, "en_US.UTF-8", (locale_t)0);
}

enum vg_err
vg_archive_with_utf8(enum vg_err (*f)(void *), void *arg)
{
	locale_t old = (locale_t)0;
	enum vg_err err;

	pthread_once(&utf8_once, utf8_init);
	if (utf8_locale != (locale_t)0)
		old = uselocale(utf8_locale);
	err = f(arg);
	if (utf8_locale != (locale_t)0)
		uselocale(old);
	return err;
}
