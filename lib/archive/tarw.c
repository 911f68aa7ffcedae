/*
 * tarw.c - the canonical tar writer (the format is fixed in archive.h).
 *
 * Written by hand rather than through a general tar library so that every
 * byte is decided here: a snapshot's bytes must not change with a library
 * upgrade, or the same tree would be stored twice.
 */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "archive/archive_int.h"

#define BLOCK 512
#define USTAR_NAME 100
#define USTAR_SIZE_MAX 077777777777ULL   /* 11 octal digits */

static const unsigned char zeros[2 * BLOCK];

/* Octal, zero-padded to width-1 digits, then a NUL. */
static void
octal(char *field, size_t width, uint64_t v)
{
	char tmp[32];

	snprintf(tmp, sizeof tmp, "%0*llo", (int)(width - 1), (unsigned long long)v);
	memcpy(field, tmp, width - 1);
	field[width - 1] = '\0';
}

/* Fill one ustar header block (name cut to 100 bytes: the pax header that
 * precedes it carries the whole one when it is longer). */
static void
ustar_block(unsigned char blk[BLOCK], const char *name, char type, uint64_t size)
{
	char *h = (char *)blk;
	size_t n = strlen(name), i;
	unsigned sum = 0;

	memset(blk, 0, BLOCK);
	memcpy(h, name, n < USTAR_NAME ? n : USTAR_NAME);
	octal(h + 100, 8, 0644);     /* mode */
	octal(h + 108, 8, 0);        /* uid */
	octal(h + 116, 8, 0);        /* gid */
	octal(h + 124, 12, size);
	octal(h + 136, 12, 0);       /* mtime */
	memset(h + 148, ' ', 8);     /* checksum, counted as spaces */
	h[156] = type;
	memcpy(h + 257, "ustar", 6); /* magic with its NUL */
	memcpy(h + 263, "00", 2);    /* version */
	octal(h + 329, 8, 0);        /* devmajor */
	octal(h + 337, 8, 0);        /* devminor */
	for (i = 0; i < BLOCK; i++)
		sum += blk[i];
	snprintf(h + 148, 8, "%06o", sum);   /* six digits, NUL, then the space kept */
	h[155] = ' ';
}

/* One pax record "LEN key=value\n", where LEN counts the whole record,
 * its own digits included. */
static int
pax_record(char *out, size_t size, const char *key, const char *value)
{
	size_t body = 1 + strlen(key) + 1 + strlen(value) + 1;   /* " k=v\n" */
	size_t len = body, digits;
	int n;

	for (;;) {
		char tmp[24];

		digits = (size_t)snprintf(tmp, sizeof tmp, "%zu", len);
		if (body + digits == len)
			break;
		len = body + digits;
	}
	n = snprintf(out, size, "%zu %s=%s\n", len, key, value);
	return (n < 0 || (size_t)n >= size) ? -1 : n;
}

/* What vg_tar_header would write, in bytes, without writing it. */
size_t
vg_tar_header_len(const char *path, uint64_t size)
{
	char num[24];
	size_t plen = 0, body, len, digits;

	if (strlen(path) > USTAR_NAME) {
		body = 1 + 4 + 1 + strlen(path) + 1;   /* " path=...\n" */
		for (len = body;; len = body + digits)
			if (body + (digits = (size_t)snprintf(num, sizeof num, "%zu", len)) == len)
				break;
		plen += len;
	}
	if (size > USTAR_SIZE_MAX) {
		body = 1 + 4 + 1 + (size_t)snprintf(num, sizeof num, "%llu", (unsigned long long)size) + 1;
		for (len = body;; len = body + digits)
			if (body + (digits = (size_t)snprintf(num, sizeof num, "%zu", len)) == len)
				break;
		plen += len;
	}
	return (plen ? BLOCK + (plen + BLOCK - 1) / BLOCK * BLOCK : 0) + BLOCK;
}

/*
 * The header blocks of one member into out (cap bytes): a pax 'x' member
 * first when the path or size does not fit ustar.  Returns their length
 * (a multiple of 512), 0 when cap is too small.
 */
size_t
vg_tar_header(unsigned char *out, size_t cap, const char *path, uint64_t size)
{
	char pax[VG_ARCHIVE_PATH_MAX + 128];
	size_t plen = 0, len = 0, padded;
	int n;

	if (strlen(path) > USTAR_NAME) {
		if ((n = pax_record(pax, sizeof pax, "path", path)) < 0)
			return 0;
		plen += (size_t)n;
	}
	if (size > USTAR_SIZE_MAX) {
		char num[24];

		snprintf(num, sizeof num, "%llu", (unsigned long long)size);
		if ((n = pax_record(pax + plen, sizeof pax - plen, "size", num)) < 0)
			return 0;
		plen += (size_t)n;
	}
	padded = (plen + BLOCK - 1) / BLOCK * BLOCK;
	if ((plen ? BLOCK + padded : 0) + BLOCK > cap)
		return 0;
	if (plen) {
		ustar_block(out, "PaxHeader", 'x', plen);
		memcpy(out + BLOCK, pax, plen);
		memset(out + BLOCK + plen, 0, padded - plen);
		len = BLOCK + padded;
	}
	ustar_block(out + len, path, '0', size > USTAR_SIZE_MAX ? 0 : size);
	return len + BLOCK;
}

enum vg_err
vg_tar_write_header(struct vg_blob_writer *w, const char *path, uint64_t size)
{
	unsigned char hdr[VG_TAR_HEADER_MAX];
	size_t n = vg_tar_header(hdr, sizeof hdr, path, size);

	if (n == 0)
		return VG_ERR_INVALID;
	return vg_blob_writer_write(w, hdr, n);
}

enum vg_err
vg_tar_write_padding(struct vg_blob_writer *w, uint64_t size)
{
	size_t pad = (size_t)((BLOCK - size % BLOCK) % BLOCK);

	return vg_blob_writer_write(w, zeros, pad);
}

enum vg_err
vg_tar_write_end(struct vg_blob_writer *w)
{
	return vg_blob_writer_write(w, zeros, sizeof zeros);
}
