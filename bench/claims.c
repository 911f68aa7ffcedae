/*
 * claims - how fast workers claim queued scans from one store, and that
 * no scan is ever claimed twice (bench/claims.sh runs it on a throwaway
 * Postgres).
 *
 *   claims N SCANS [N SCANS]...
 *
 * For each pair: SCANS queued scans are created, then N processes (each
 * with its own store connection, started together) call
 * vg_store_scan_claim in a loop until nothing is queued.  Each claimer
 * writes the ids it got to a pipe; the parent counts them and every
 * duplicate.  Prints one row per pair: claimers, scans, seconds,
 * claims/s, the ratio to the first row, and double claims.  Exit status
 * 1 when a scan was claimed twice or one was missed.
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/settings.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "store/store.h"

#define MAX_CLAIMERS 64

static char repo_id[VG_UUID_LEN + 1], snap_id[VG_UUID_LEN + 1], user_id[VG_UUID_LEN + 1];

static int
die(const char *what, enum vg_err err)
{
	fprintf(stderr, "claims: %s: %s\n", what, vg_err_code(err));
	exit(2);
}

/* A user, project, repository and snapshot to hang the scans on. */
static void
seed_parents(struct vg_store *s)
{
	struct vg_user u;
	struct vg_project p;
	struct vg_repository r;
	struct vg_snapshot sn;
	enum vg_err err;

	memset(&u, 0, sizeof u);
	memset(&p, 0, sizeof p);
	memset(&r, 0, sizeof r);
	memset(&sn, 0, sizeof sn);
	snprintf(u.email, sizeof u.email, "bench%lld@example.invalid", (long long)vg_time_now_us());
	vg_str_copy(u.display_name, sizeof u.display_name, "Bench");
	u.groups = VG_GROUP_USER;
	if ((err = vg_store_user_create(s, &u)) != VG_OK)
		die("user", err);
	vg_str_copy(p.name, sizeof p.name, "bench");
	vg_str_copy(p.owner_id, sizeof p.owner_id, u.id);
	if ((err = vg_store_project_create(s, &p)) != VG_OK)
		die("project", err);
	vg_str_copy(r.project_id, sizeof r.project_id, p.id);
	vg_str_copy(r.name, sizeof r.name, "bench");
	vg_str_copy(r.source_type, sizeof r.source_type, "upload");
	if ((err = vg_store_repository_create(s, &r)) != VG_OK)
		die("repository", err);
	vg_str_copy(sn.repository_id, sizeof sn.repository_id, r.id);
	snprintf(sn.digest, sizeof sn.digest, "%064d", 42);
	snprintf(sn.storage_key, sizeof sn.storage_key, "snapshots/%s.tar", sn.digest);
	snprintf(sn.manifest_key, sizeof sn.manifest_key, "snapshots/%s.manifest.json", sn.digest);
	vg_str_copy(sn.format, sizeof sn.format, "tar");
	vg_str_copy(sn.languages, sizeof sn.languages, "{}");
	if ((err = vg_store_snapshot_create(s, &sn, NULL)) != VG_OK)
		die("snapshot", err);
	vg_str_copy(repo_id, sizeof repo_id, r.id);
	vg_str_copy(snap_id, sizeof snap_id, sn.id);
	vg_str_copy(user_id, sizeof user_id, u.id);
}

static void
seed_scans(struct vg_store *s, int64_t n)
{
	struct vg_scan sc;
	enum vg_err err;
	int64_t i;

	for (i = 0; i < n; i++) {
		memset(&sc, 0, sizeof sc);
		vg_str_copy(sc.repository_id, sizeof sc.repository_id, repo_id);
		vg_str_copy(sc.snapshot_id, sizeof sc.snapshot_id, snap_id);
		vg_str_copy(sc.created_by, sizeof sc.created_by, user_id);
		vg_str_copy(sc.engine, sizeof sc.engine, "rules");
		vg_str_copy(sc.options, sizeof sc.options, "{}");
		if ((err = vg_store_scan_create(s, &sc, 0)) != VG_OK)
			die("scan", err);
	}
}

/* A claimer: wait for the go byte, claim until nothing is queued, write
 * each claimed id (37 bytes with its newline) to out. */
static void __attribute__((noreturn))
claimer(int go, int out, int k)
{
	struct vg_store *s = NULL;
	struct vg_scan sc;
	char worker[VG_UUID_LEN + 1], lease[64], line[VG_UUID_LEN + 2], byte;
	int64_t n = 0;
	enum vg_err err;

	if (vg_store_open(&s) != VG_OK || vg_uuid_new(worker) != VG_OK)
		_exit(2);
	vg_store_ping(s);   /* connect before the clock starts */
	if (read(go, &byte, 1) != 1)
		_exit(2);
	for (;;) {
		snprintf(lease, sizeof lease, "bench-lease-%d-%lld-0123456789", k, (long long)n++);
		err = vg_store_scan_claim(s, worker, NULL, lease, vg_time_now_us(), &sc);
		if (err == VG_ERR_NOT_FOUND)
			break;
		if (err != VG_OK) {
			fprintf(stderr, "claims: claim: %s\n", vg_err_code(err));
			_exit(2);
		}
		snprintf(line, sizeof line, "%s\n", sc.id);
		if (write(out, line, VG_UUID_LEN + 1) != VG_UUID_LEN + 1)
			_exit(2);
	}
	vg_store_free(s);
	_exit(0);
}

static int
cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, VG_UUID_LEN);
}

/* One round: n claimers over scans queued scans.  *rate gets claims/s;
 * returns the double claims plus the missed scans. */
static int64_t
round_of(struct vg_store *s, int n, int64_t scans, double *secs, double *rate, int64_t *dups)
{
	int go[2], out[2], k, st;
	pid_t pids[MAX_CLAIMERS];
	char (*ids)[VG_UUID_LEN + 1] = calloc((size_t)scans * 2 + 1, sizeof *ids);
	char buf[(VG_UUID_LEN + 1) * 256];
	size_t have = 0, got = 0, i;
	int64_t t0, t1;
	ssize_t r;

	seed_scans(s, scans);
	if (!ids || pipe(go) != 0 || pipe(out) != 0)
		die("setup", VG_ERR_NOMEM);
	fflush(NULL);
	for (k = 0; k < n; k++) {
		if ((pids[k] = fork()) == 0) {
			close(go[1]);
			close(out[0]);
			claimer(go[0], out[1], k);
		}
	}
	close(go[0]);
	close(out[1]);
	usleep(300000);   /* let every claimer connect */
	t0 = vg_time_mono_us();
	for (k = 0; k < n; k++)
		if (write(go[1], "g", 1) != 1)
			die("go", VG_ERR_IO);
	/* whole lines only: each write is one 37-byte line (atomic on a pipe) */
	while ((r = read(out[0], buf + have, sizeof buf - have)) > 0 || (r < 0 && errno == EINTR)) {
		if (r < 0)
			continue;
		have += (size_t)r;
		for (i = 0; i + VG_UUID_LEN + 1 <= have; i += VG_UUID_LEN + 1)
			if (got < (size_t)scans * 2) {
				memcpy(ids[got], buf + i, VG_UUID_LEN);
				ids[got++][VG_UUID_LEN] = '\0';
			}
		memmove(buf, buf + i, have - i);
		have -= i;
	}
	t1 = vg_time_mono_us();
	for (k = 0; k < n; k++)
		waitpid(pids[k], &st, 0);
	close(go[1]);
	close(out[0]);
	qsort(ids, got, sizeof *ids, cmp_id);
	*dups = 0;
	for (i = 1; i < got; i++)
		if (memcmp(ids[i], ids[i - 1], VG_UUID_LEN) == 0)
			(*dups)++;
	*secs = (double)(t1 - t0) / 1e6;
	*rate = (double)got / *secs;
	free(ids);
	return *dups + (scans - ((int64_t)got - *dups));
}

int
main(int argc, char **argv)
{
	struct vg_store *s = NULL;
	double base = 0, secs, rate;
	int64_t n, scans, dups, wrong, bad = 0;
	char msg[256];
	int i;

	if (argc < 3 || argc % 2 == 0) {
		fputs("usage: claims N SCANS [N SCANS]...\n", stderr);
		return 2;
	}
	if (vg_settings_load(msg, sizeof msg) != VG_OK) {
		fprintf(stderr, "claims: %s\n", msg);
		return 2;
	}
	if (vg_store_open(&s) != VG_OK)
		die("open", VG_ERR_UNAVAILABLE);
	seed_parents(s);
	printf("%-9s %7s %8s %10s %7s %13s\n", "claimers", "scans", "seconds", "claims/s", "ratio",
	    "double/missed");
	for (i = 1; i + 1 < argc; i += 2) {
		if (vg_str_to_i64(argv[i], 1, MAX_CLAIMERS, &n) != VG_OK ||
		    vg_str_to_i64(argv[i + 1], 1, 10000000, &scans) != VG_OK) {
			fputs("claims: N is 1..64, SCANS 1..10000000\n", stderr);
			return 2;
		}
		wrong = round_of(s, (int)n, scans, &secs, &rate, &dups);
		bad += wrong;
		if (base == 0)
			base = rate;
		printf("%-9lld %7lld %8.2f %10.0f %7.2f %13lld\n", (long long)n, (long long)scans,
		    secs, rate, rate / base, (long long)wrong);
		fflush(stdout);
	}
	vg_store_free(s);
	return bad ? 1 : 0;
}
