/*
 * spool.c - the ingest's spool writer: SHA-256 and writes to the spool
 * file done by a second thread while the first decompresses the next
 * chunk.  Hashing and copying into the page cache cost about a third of
 * decompressing; on two cores they come almost free.
 *
 * A ring of SPOOL_SLOTS buffers of VG_SPOOL_CHUNK bytes: the caller takes
 * the next free one (vg_spool_buffer), fills it and submits it with where
 * it goes in the file and whether it starts, continues or ends a file's
 * hash.  The worker hashes and writes in submission order.  Memory is the
 * ring, whatever the archive's size.  The thread starts only once
 * THREAD_AFTER bytes went through (for small archives a thread costs more
 * than it saves); until then, or when no thread can be started, the same
 * work is done inline by the caller.  Bytes that are not hashed (headers,
 * padding) are written by the caller directly: they never overlap the
 * ranges the worker writes.
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

#define SPOOL_SLOTS 4
#define THREAD_AFTER (4u << 20)
/* Written data is pushed to disk in steps of this much (when asked), so
 * the final fsync finds little to do. */
#define WRITEBACK_STEP (8u << 20)

struct job {
	unsigned char *buf;
	size_t n;
	uint64_t off;
	unsigned flags;
	size_t file_no;
};

struct vg_spool {
	int fd;
	pthread_t thread;
	bool threaded;
	bool tried;               /* a thread was attempted */
	uint64_t submitted;       /* bytes submitted so far */
	pthread_mutex_t mu;
	pthread_cond_t cv;        /* signalled on every change of count or stop */
	struct job ring[SPOOL_SLOTS];
	unsigned char *bufs[SPOOL_SLOTS];
	size_t head, count;       /* next slot to fill; slots submitted, not done */
	bool busy;                /* the worker holds a job outside the lock */
	bool stop;
	enum vg_err err;          /* first failure; later jobs are dropped */
	EVP_MD_CTX *md;           /* the worker's */
	unsigned char (*shas)[32];
	size_t nshas;
	bool writeback;
	uint64_t written_end, written_back;
};

static enum vg_err
pwrite_all(int fd, const unsigned char *p, size_t n, uint64_t off)
{
	while (n > 0) {
		ssize_t k = pwrite(fd, p, n, (off_t)off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return VG_ERR_IO;
		p += k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	return VG_OK;
}

/* Hash and write one job (the worker, or the caller when inline). */
static enum vg_err
do_job(struct vg_spool *s, const struct job *j)
{
	enum vg_err err;

	if (j->flags & VG_SPOOL_BEGIN) {
		if (EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) != 1)
			return VG_ERR_INTERNAL;
	}
	if ((j->flags & VG_SPOOL_HASH) && j->n && EVP_DigestUpdate(s->md, j->buf, j->n) != 1)
		return VG_ERR_INTERNAL;
	if ((err = pwrite_all(s->fd, j->buf, j->n, j->off)) != VG_OK)
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
	if (j->off + j->n > s->written_end)
		s->written_end = j->off + j->n;
	if (__atomic_load_n(&s->writeback, __ATOMIC_RELAXED) &&
	    s->written_end - s->written_back >= WRITEBACK_STEP) {
		/* Start writing back without waiting: the disk works while the
		 * next chunks are decompressed. */
		sync_file_range(s->fd, (off64_t)s->written_back,
		    (off64_t)(s->written_end - s->written_back), SYNC_FILE_RANGE_WRITE);
		s->written_back = s->written_end;
	}
	return VG_OK;
}

static void *
worker(void *arg)
{
	struct vg_spool *s = arg;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		struct job j;
		size_t tail;
		enum vg_err err = VG_OK;

		while (s->count == 0 && !s->stop)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->stop)
			break;
		tail = (s->head + SPOOL_SLOTS - s->count) % SPOOL_SLOTS;
		j = s->ring[tail];
		s->busy = true;
		if (s->err == VG_OK) {
			pthread_mutex_unlock(&s->mu);
			err = do_job(s, &j);
			pthread_mutex_lock(&s->mu);
			if (err != VG_OK && s->err == VG_OK)
				s->err = err;
		}
		s->busy = false;
		s->count--;
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

enum vg_err
vg_spool_new(int fd, struct vg_spool **out)
{
	struct vg_spool *s = calloc(1, sizeof *s);
	enum vg_err err = VG_OK;
	size_t i;

	*out = NULL;
	if (!s)
		return VG_ERR_NOMEM;
	s->fd = fd;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	for (i = 0; i < SPOOL_SLOTS; i++)
		if (!(s->bufs[i] = malloc(VG_SPOOL_CHUNK)))
			err = VG_ERR_NOMEM;
	if (err == VG_OK && !(s->md = EVP_MD_CTX_new()))
		err = VG_ERR_NOMEM;
	if (err != VG_OK) {
		vg_spool_free(s);
		return err;
	}
	*out = s;
	return VG_OK;
}

void
vg_spool_writeback(struct vg_spool *s, bool on)
{
	__atomic_store_n(&s->writeback, on, __ATOMIC_RELAXED);
}

/* The next buffer to fill: waits while every slot is in the worker's
 * hands.  It stays the next one until submitted. */
unsigned char *
vg_spool_buffer(struct vg_spool *s)
{
	unsigned char *b;

	pthread_mutex_lock(&s->mu);
	while (s->count == SPOOL_SLOTS)
		pthread_cond_wait(&s->cv, &s->mu);
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
		/* Every earlier job was done inline: the worker starts clean. */
		s->tried = true;
		s->threaded = pthread_create(&s->thread, NULL, worker, s) == 0;
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
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return VG_OK;
}

/* Bytes outside any file's hash go straight to the file: they never
 * overlap what the worker writes, and pwrite needs no shared offset. */
enum vg_err
vg_spool_put(struct vg_spool *s, const void *p, size_t n, uint64_t off)
{
	enum vg_err err;

	if (n == 0)
		return VG_OK;
	pthread_mutex_lock(&s->mu);
	err = s->err;
	pthread_mutex_unlock(&s->mu);
	if (err != VG_OK)
		return err;
	return pwrite_all(s->fd, p, n, off);
}

/* Wait until every submission is done; the first failure, if any. */
enum vg_err
vg_spool_drain(struct vg_spool *s)
{
	enum vg_err err;

	pthread_mutex_lock(&s->mu);
	while (s->count > 0)
		pthread_cond_wait(&s->cv, &s->mu);
	err = s->err;
	pthread_mutex_unlock(&s->mu);
	return err;
}

/* The hash of file file_no, after vg_spool_drain; NULL if unknown. */
const unsigned char *
vg_spool_sha(const struct vg_spool *s, size_t file_no)
{
	return file_no < s->nshas ? s->shas[file_no] : NULL;
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
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
	}
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	for (i = 0; i < SPOOL_SLOTS; i++)
		free(s->bufs[i]);
	EVP_MD_CTX_free(s->md);
	free(s->shas);
	free(s);
}
