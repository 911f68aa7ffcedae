/*
 * spool.c - the ingest's spool writer.
 *
 * The spool is written front to back: the caller submits byte ranges in
 * ascending order (a gap between two is filled with zeros: tar padding,
 * room for a header).  Bytes go through a staging buffer and reach the
 * file in large aligned writes, with O_DIRECT when the file allows it:
 * copying gigabytes into the page cache costs more CPU than decompressing
 * them on some virtual machines, and the spool is read back at most once.
 *
 * Hashing and writing run on a second thread while the caller decompresses
 * the next chunk: a ring of SPOOL_SLOTS buffers of VG_SPOOL_CHUNK bytes;
 * the caller takes the next free one (vg_spool_buffer), fills it and
 * submits it; the worker hashes and stages in submission order.  Memory is
 * the ring plus the stage, whatever the archive's size.  The thread starts
 * only once THREAD_AFTER bytes went through (for small archives a thread
 * costs more than it saves); until then, or when no thread can be started,
 * the same work is done inline by the caller.
 *
 * With the worker, full stages go to a third thread, the writer, while the
 * worker fills a second stage: a direct write waits for the disk, and the
 * hashing and staging need not wait with it.  The final (padded) write and
 * everything after the drain happen with the writer idle.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>
#include "archive/archive_int.h"
#include "core/fsutil.h"

#define SPOOL_SLOTS 16   /* 4 MiB in flight: decompression runs on during a write */
#define THREAD_AFTER (4u << 20)
#define WAKE_BATCH 8     /* submissions queued before the worker is woken */
#define STAGE_SIZE (4u << 20)   /* bytes per write to the file (threaded) */
#define STAGE_SMALL (256u * 1024)  /* the same until the thread starts */
#define ALIGN 4096u             /* O_DIRECT: buffer, offset and length */

struct job {
	unsigned char *buf;
	size_t n;
	uint64_t off;
	unsigned flags;
	size_t file_no;
};

struct vg_spool {
	int fd;
	bool direct;              /* fd has O_DIRECT: aligned writes only */
	pthread_t thread;
	bool threaded;
	bool tried;               /* a thread was attempted */
	uint64_t submitted;       /* bytes submitted so far */
	pthread_mutex_t mu;
	pthread_cond_t cv_work;   /* for the worker: a job, or stop */
	pthread_cond_t cv_space;  /* for the caller: a slot freed, or all done */
	bool worker_waits, caller_waits;   /* signal only a thread that sleeps */
	struct job ring[SPOOL_SLOTS];
	unsigned char *bufs[SPOOL_SLOTS];
	size_t head, count;       /* next slot to fill; slots submitted, not done */
	bool stop;
	enum vg_err err;          /* first failure; later jobs are dropped */
	/* The worker's (the caller's when inline): */
	EVP_MD_CTX *md;
	unsigned char (*shas)[32];
	size_t nshas;
	unsigned char *stage;     /* stage_size bytes, ALIGN-aligned */
	size_t stage_size;
	size_t staged;            /* bytes in the stage */
	uint64_t flushed;         /* bytes of the file written from the stage */
	bool closed;              /* drained: the tail is written, no more jobs */
	/* Patching (after the drain): the piece of the file held in the stage. */
	uint64_t patch_off;
	size_t patch_len;         /* 0: none held */
	uint64_t file_len;        /* bytes in the file (padded when direct) */
	/* The writer thread (with the worker only): it owns wbuf while busy. */
	pthread_t wthread;
	bool wthreaded;
	pthread_cond_t wcv;       /* for the writer: a stage to write, or stop;
	                           * for the worker: the writer went idle */
	unsigned char *spare;     /* the stage not being filled */
	unsigned char *wbuf;
	size_t wlen;
	uint64_t woff;
	bool wbusy, wstop;
	enum vg_err werr;         /* the writer's first failure */
};

static void *
writer(void *arg)
{
	struct vg_spool *s = arg;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		enum vg_err err;

		while (!s->wbusy && !s->wstop)
			pthread_cond_wait(&s->wcv, &s->mu);
		if (!s->wbusy)
			break;
		pthread_mutex_unlock(&s->mu);
		err = vg_fs_pwrite_all(s->fd, s->wbuf, s->wlen, s->woff);
		pthread_mutex_lock(&s->mu);
		if (err != VG_OK && s->werr == VG_OK)
			s->werr = err;
		s->wbusy = false;
		pthread_cond_broadcast(&s->wcv);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Wait until the writer holds no stage; its first failure, if any. */
static enum vg_err
writer_idle(struct vg_spool *s)
{
	enum vg_err err;

	if (!s->wthreaded)
		return VG_OK;
	pthread_mutex_lock(&s->mu);
	while (s->wbusy)
		pthread_cond_wait(&s->wcv, &s->mu);
	err = s->werr;
	pthread_mutex_unlock(&s->mu);
	return err;
}

/* Hand the full stage to the writer and go on filling the spare one. */
static enum vg_err
hand_to_writer(struct vg_spool *s)
{
	enum vg_err err = writer_idle(s);
	unsigned char *full = s->stage;

	if (err != VG_OK)
		return err;
	pthread_mutex_lock(&s->mu);
	s->wbuf = full;
	s->wlen = s->staged;
	s->woff = s->flushed;
	s->wbusy = true;
	pthread_cond_broadcast(&s->wcv);
	pthread_mutex_unlock(&s->mu);
	s->stage = s->spare;
	s->spare = full;
	s->flushed += s->staged;
	s->staged = 0;
	return VG_OK;
}

/* Write the stage out.  The last write of a direct file is padded with
 * zeros to ALIGN; the caller truncates the file to its real length. */
static enum vg_err
flush_stage(struct vg_spool *s, bool last)
{
	size_t n = s->staged;
	enum vg_err err;

	if (n == 0)
		return writer_idle(s);
	if (!last && s->wthreaded)
		return hand_to_writer(s);
	if ((err = writer_idle(s)) != VG_OK)
		return err;
	if (last && s->direct && n % ALIGN) {
		memset(s->stage + n, 0, ALIGN - n % ALIGN);
		n += ALIGN - n % ALIGN;
	}
	if ((err = vg_fs_pwrite_all(s->fd, s->stage, n, s->flushed)) != VG_OK)
		return err;
	s->flushed += s->staged;
	s->staged = 0;
	return VG_OK;
}

/* Append n bytes (zeros when p is NULL) to the stage, writing it out
 * each time it fills. */
static enum vg_err
stage(struct vg_spool *s, const unsigned char *p, size_t n)
{
	enum vg_err err;

	while (n > 0) {
		size_t k = s->stage_size - s->staged;

		if (k > n)
			k = n;
		if (p) {
			memcpy(s->stage + s->staged, p, k);
			p += k;
		} else {
			memset(s->stage + s->staged, 0, k);
		}
		s->staged += k;
		n -= k;
		if (s->staged == s->stage_size && (err = flush_stage(s, false)) != VG_OK)
			return err;
	}
	return VG_OK;
}

/* An aligned stage of size bytes holding what the old one held. */
static enum vg_err
grow_stage(struct vg_spool *s, size_t size)
{
	void *p = NULL;

	if (posix_memalign(&p, ALIGN, size) != 0)
		return VG_ERR_NOMEM;
	if (s->staged)
		memcpy(p, s->stage, s->staged);
	free(s->stage);
	s->stage = p;
	s->stage_size = size;
	return VG_OK;
}

/* Hash and stage one job (the worker, or the caller when inline). */
static enum vg_err
do_job(struct vg_spool *s, const struct job *j)
{
	uint64_t end = s->flushed + s->staged;
	enum vg_err err;

	if (s->closed || j->off < end)
		return VG_ERR_INTERNAL;   /* out of order, or after the end */
	if (j->off > end && (err = stage(s, NULL, (size_t)(j->off - end))) != VG_OK)
		return err;
	if ((j->flags & VG_SPOOL_BEGIN) && EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) != 1)
		return VG_ERR_INTERNAL;
	if ((j->flags & VG_SPOOL_HASH) && j->n && EVP_DigestUpdate(s->md, j->buf, j->n) != 1)
		return VG_ERR_INTERNAL;
	if ((err = stage(s, j->buf, j->n)) != VG_OK)
		return err;
	if (j->flags & VG_SPOOL_END) {
		if (j->file_no >= s->nshas) {
			size_t cap = s->nshas ? s->nshas * 2 : 256;
			unsigned char (*p)[32];

			while (cap <= j->file_no)
				cap *= 2;
			if (!(p = realloc(s->shas, cap * sizeof *p)))
				return VG_ERR_NOMEM;
			s->shas = p;
			s->nshas = cap;
		}
		if (EVP_DigestFinal_ex(s->md, s->shas[j->file_no], NULL) != 1)
			return VG_ERR_INTERNAL;
	}
	return VG_OK;
}

/* Wake the worker if it sleeps (s->mu held).  Submissions wake it only
 * once WAKE_BATCH jobs wait, so one wake-up serves a batch rather than
 * each chunk paying a futex round trip; whoever is about to wait for the
 * worker wakes it first, so no job is left sleeping. */
static void
wake_worker(struct vg_spool *s)
{
	if (s->worker_waits)
		pthread_cond_signal(&s->cv_work);
}

static void *
worker(void *arg)
{
	struct vg_spool *s = arg;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		struct job j;
		enum vg_err err = VG_OK;

		while (s->count == 0 && !s->stop) {
			s->worker_waits = true;
			pthread_cond_wait(&s->cv_work, &s->mu);
			s->worker_waits = false;
		}
		if (s->stop)
			break;
		j = s->ring[(s->head + SPOOL_SLOTS - s->count) % SPOOL_SLOTS];
		if (s->err == VG_OK) {
			pthread_mutex_unlock(&s->mu);
			err = do_job(s, &j);
			pthread_mutex_lock(&s->mu);
			if (err != VG_OK && s->err == VG_OK)
				s->err = err;
		}
		s->count--;
		if (s->caller_waits)
			pthread_cond_signal(&s->cv_space);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* A second stage and the writer thread; without either, the worker
 * writes its stages itself. */
static void
start_writer(struct vg_spool *s)
{
	void *p = NULL;

	if (posix_memalign(&p, ALIGN, STAGE_SIZE) != 0)
		return;
	s->spare = p;
	s->wthreaded = pthread_create(&s->wthread, NULL, writer, s) == 0;
}

/* Buffers are made as they are first needed: inline, only the first
 * slot and a small stage are ever used. */
enum vg_err
vg_spool_new(int fd, bool direct, struct vg_spool **out)
{
	struct vg_spool *s = calloc(1, sizeof *s);
	enum vg_err err = VG_OK;

	*out = NULL;
	if (!s)
		return VG_ERR_NOMEM;
	s->fd = fd;
	s->direct = direct;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv_work, NULL);
	pthread_cond_init(&s->cv_space, NULL);
	pthread_cond_init(&s->wcv, NULL);
	err = grow_stage(s, STAGE_SMALL);
	if (err == VG_OK && !(s->md = EVP_MD_CTX_new()))
		err = VG_ERR_NOMEM;
	if (err != VG_OK) {
		vg_spool_free(s);
		return err;
	}
	*out = s;
	return VG_OK;
}

/* The next buffer to fill: waits while every slot is in the worker's
 * hands.  It stays the next one until submitted.  NULL when it could not
 * be allocated. */
unsigned char *
vg_spool_buffer(struct vg_spool *s)
{
	unsigned char *b;

	pthread_mutex_lock(&s->mu);
	while (s->count == SPOOL_SLOTS) {
		wake_worker(s);
		s->caller_waits = true;
		pthread_cond_wait(&s->cv_space, &s->mu);
		s->caller_waits = false;
	}
	if (!s->bufs[s->head])
		s->bufs[s->head] = malloc(VG_SPOOL_CHUNK);
	b = s->bufs[s->head];
	pthread_mutex_unlock(&s->mu);
	return b;
}

/*
 * Submit the buffer vg_spool_buffer gave, holding n bytes for offset off.
 * Returns the first failure so far, if any (the submission is dropped).
 */
enum vg_err
vg_spool_submit(struct vg_spool *s, size_t n, uint64_t off, unsigned flags, size_t file_no)
{
	struct job j;
	enum vg_err err;

	if (!s->tried && (s->submitted += n) >= THREAD_AFTER) {
		/* Every earlier job was done inline: the stage is idle and the
		 * worker starts clean. */
		s->tried = true;
		if (grow_stage(s, STAGE_SIZE) == VG_OK)
			s->threaded = pthread_create(&s->thread, NULL, worker, s) == 0;
		if (s->threaded)
			start_writer(s);
	}
	pthread_mutex_lock(&s->mu);
	if ((err = s->err) != VG_OK) {
		pthread_mutex_unlock(&s->mu);
		return err;
	}
	j = (struct job){s->bufs[s->head], n, off, flags, file_no};
	if (!s->threaded) {
		pthread_mutex_unlock(&s->mu);
		if ((err = do_job(s, &j)) != VG_OK)
			s->err = err;
		return err;
	}
	s->ring[s->head] = j;
	s->head = (s->head + 1) % SPOOL_SLOTS;
	s->count++;
	if (s->count >= WAKE_BATCH)
		wake_worker(s);
	pthread_mutex_unlock(&s->mu);
	return VG_OK;
}

/* Unhashed bytes (headers, the end blocks), in order like the rest. */
enum vg_err
vg_spool_put(struct vg_spool *s, const void *p, size_t n, uint64_t off)
{
	enum vg_err err = VG_OK;
	const unsigned char *c = p;

	while (err == VG_OK && n > 0) {
		size_t k = n < VG_SPOOL_CHUNK ? n : VG_SPOOL_CHUNK;

		unsigned char *b = vg_spool_buffer(s);

		if (!b)
			return VG_ERR_NOMEM;
		memcpy(b, c, k);
		err = vg_spool_submit(s, k, off, 0, 0);
		c += k;
		n -= k;
		off += k;
	}
	return err;
}

/*
 * Wait for every submission, then write the stage's tail: the spool is
 * complete (a direct file may run on with zeros to the next ALIGN; the
 * caller truncates it when it keeps the file).  The first failure, if any.
 */
enum vg_err
vg_spool_drain(struct vg_spool *s)
{
	enum vg_err err;

	pthread_mutex_lock(&s->mu);
	while (s->count > 0) {
		wake_worker(s);
		s->caller_waits = true;
		pthread_cond_wait(&s->cv_space, &s->mu);
		s->caller_waits = false;
	}
	err = s->err;
	pthread_mutex_unlock(&s->mu);
	if (err == VG_OK && !s->closed) {
		s->file_len = s->flushed + s->staged;
		if (s->direct && s->file_len % ALIGN)
			s->file_len += ALIGN - s->file_len % ALIGN;
		err = flush_stage(s, true);
		s->closed = true;
	}
	return err;
}

/* Read [off, off + len) of the drained file into the stage. */
static enum vg_err
load(struct vg_spool *s, uint64_t off, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t k = pread(s->fd, s->stage + got, len - got, (off_t)(off + got));

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return VG_ERR_IO;
		got += (size_t)k;
	}
	return VG_OK;
}

/* Write the piece held for patching back. */
enum vg_err
vg_spool_patch_done(struct vg_spool *s)
{
	enum vg_err err = VG_OK;

	if (s->patch_len)
		err = vg_fs_pwrite_all(s->fd, s->stage, s->patch_len, s->patch_off);
	s->patch_len = 0;
	return err;
}

/*
 * Overwrite n bytes at off of the drained spool (headers found wrong at
 * the end), calls in ascending order of off: the file is read and written
 * back in aligned pieces of up to STAGE_SIZE, so patching many headers
 * close together costs a sequential rewrite, not two I/Os each.
 */
enum vg_err
vg_spool_patch(struct vg_spool *s, uint64_t off, const void *p, size_t n)
{
	enum vg_err err;

	if (!s->closed || n > s->stage_size / 2 || off + n > s->file_len)
		return VG_ERR_INTERNAL;
	if (s->patch_len == 0 || off < s->patch_off || off + n > s->patch_off + s->patch_len) {
		uint64_t start = off / ALIGN * ALIGN;
		uint64_t len = s->file_len - start;

		if ((err = vg_spool_patch_done(s)) != VG_OK)
			return err;
		if (len > s->stage_size)
			len = s->stage_size;
		if ((err = load(s, start, (size_t)len)) != VG_OK)
			return err;
		s->patch_off = start;
		s->patch_len = (size_t)len;
	}
	memcpy(s->stage + (off - s->patch_off), p, n);
	return VG_OK;
}

const unsigned char *
vg_spool_sha(const struct vg_spool *s, size_t file_no)
{
	return file_no < s->nshas ? s->shas[file_no] : NULL;
}

/*
 * Copy len bytes of the drained spool from off into w, reading through
 * the (idle) stage in aligned pieces, as O_DIRECT wants.
 */
enum vg_err
vg_spool_copy_to(struct vg_spool *s, uint64_t off, uint64_t len, struct vg_blob_writer *w)
{
	enum vg_err err = VG_OK;

	if (!s->closed)
		return VG_ERR_INTERNAL;
	while (err == VG_OK && len > 0) {
		uint64_t start = off / ALIGN * ALIGN;
		size_t skip = (size_t)(off - start), want, got = 0;

		want = skip + (len < s->stage_size - ALIGN ? (size_t)len : s->stage_size - ALIGN);
		want = (want + ALIGN - 1) / ALIGN * ALIGN;
		while (got < want) {
			ssize_t k = pread(s->fd, s->stage + got, want - got, (off_t)(start + got));

			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				break;   /* the file's end: a direct file is padded */
			got += (size_t)k;
		}
		if (got <= skip) {
			err = VG_ERR_IO;
			break;
		}
		got -= skip;
		if (got > len)
			got = (size_t)len;
		err = vg_blob_writer_write(w, s->stage + skip, got);
		off += got;
		len -= got;
	}
	return err;
}

/* Stop the worker (dropping what it has not done) and free. */
void
vg_spool_free(struct vg_spool *s)
{
	size_t i;

	if (!s)
		return;
	if (s->threaded) {
		pthread_mutex_lock(&s->mu);
		s->stop = true;
		pthread_cond_signal(&s->cv_work);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
	}
	if (s->wthreaded) {
		pthread_mutex_lock(&s->mu);
		s->wstop = true;
		pthread_cond_broadcast(&s->wcv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->wthread, NULL);
	}
	pthread_cond_destroy(&s->wcv);
	pthread_cond_destroy(&s->cv_work);
	pthread_cond_destroy(&s->cv_space);
	pthread_mutex_destroy(&s->mu);
	for (i = 0; i < SPOOL_SLOTS; i++)
		free(s->bufs[i]);
	free(s->stage);
	free(s->spare);
	EVP_MD_CTX_free(s->md);
	free(s->shas);
	free(s);
}
