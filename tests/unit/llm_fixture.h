/*
 * llm_fixture.h - scans for the LLM proxy's tests, made straight in the
 * store: a user, a project, an upload repository, a snapshot and a scan,
 * claimed (attempt 1) as a worker would.  Shared by test_llm_proxy and
 * tests/helpers/llm-scan (the end-to-end suites' helper); static, so
 * each includes its own copy.
 */
#ifndef VG_TEST_LLM_FIXTURE_H
#define VG_TEST_LLM_FIXTURE_H

#include <stdio.h>
#include <string.h>
#include "core/id.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "store/store.h"

/* A new scan (options: JSON object text or NULL) claimed as attempt 1;
 * its id in id.  VG_OK or the first store error. */
static enum vg_err
llm_fixture_scan(struct vg_store *s, const char *options, char id[VG_UUID_LEN + 1])
{
	struct vg_user u;
	struct vg_project p;
	struct vg_repository r;
	struct vg_snapshot snap;
	static struct vg_scan sc, got;
	char lease[VG_UUID_LEN + 1], worker[VG_UUID_LEN + 1];
	unsigned char rnd[32];
	enum vg_err err;

	memset(&u, 0, sizeof u);
	memset(&p, 0, sizeof p);
	memset(&r, 0, sizeof r);
	memset(&snap, 0, sizeof snap);
	memset(&sc, 0, sizeof sc);
	if ((err = vg_uuid_new(lease)) != VG_OK || (err = vg_uuid_new(worker)) != VG_OK)
		return err;
	snprintf(u.email, sizeof u.email, "llm-%s@example.invalid", lease);
	vg_str_copy(u.display_name, sizeof u.display_name, "LLM test");
	u.groups = VG_GROUP_USER;
	if ((err = vg_store_user_create(s, &u)) != VG_OK)
		return err;
	vg_str_copy(p.name, sizeof p.name, "llm");
	vg_str_copy(p.owner_id, sizeof p.owner_id, u.id);
	if ((err = vg_store_project_create(s, &p)) != VG_OK)
		return err;
	vg_str_copy(r.project_id, sizeof r.project_id, p.id);
	vg_str_copy(r.name, sizeof r.name, "r");
	vg_str_copy(r.source_type, sizeof r.source_type, "upload");
	vg_str_copy(r.created_by, sizeof r.created_by, u.id);
	if ((err = vg_store_repository_create(s, &r)) != VG_OK)
		return err;
	vg_str_copy(snap.repository_id, sizeof snap.repository_id, r.id);
	if ((err = vg_random_bytes(rnd, sizeof rnd)) != VG_OK)
		return err;
	vg_hex_encode(rnd, sizeof rnd, snap.digest);
	snprintf(snap.storage_key, sizeof snap.storage_key, "snapshots/%s.tar", snap.digest);
	snprintf(snap.manifest_key, sizeof snap.manifest_key, "snapshots/%s.json", snap.digest);
	vg_str_copy(snap.format, sizeof snap.format, "tar");
	vg_str_copy(snap.languages, sizeof snap.languages, "{}");
	vg_str_copy(snap.created_by, sizeof snap.created_by, u.id);
	if ((err = vg_store_snapshot_create(s, &snap, NULL)) != VG_OK)
		return err;
	vg_str_copy(sc.repository_id, sizeof sc.repository_id, r.id);
	vg_str_copy(sc.snapshot_id, sizeof sc.snapshot_id, snap.id);
	vg_str_copy(sc.created_by, sizeof sc.created_by, u.id);
	vg_str_copy(sc.engine, sizeof sc.engine, "llm");
	vg_str_copy(sc.options, sizeof sc.options, options && *options ? options : "{}");
	if ((err = vg_store_scan_create(s, &sc, 0)) != VG_OK)
		return err;
	if ((err = vg_store_scan_claim(s, worker, sc.id, lease, vg_time_now_us(), &got)) != VG_OK)
		return err;
	vg_str_copy(id, VG_UUID_LEN + 1, sc.id);
	return VG_OK;
}

/* Put scan id back in the queue and claim it again: attempt + 1. */
static enum vg_err
llm_fixture_reclaim(struct vg_store *s, const char *id)
{
	static struct vg_scan sc;
	char lease[VG_UUID_LEN + 1], worker[VG_UUID_LEN + 1];
	int64_t now = vg_time_now_us();
	enum vg_err err;

	if ((err = vg_store_scan_get(s, id, &sc)) != VG_OK ||
	    (err = vg_store_scan_requeue_claimed(s, id, sc.attempt, now + 1000000, 10, now)) != VG_OK ||
	    (err = vg_uuid_new(lease)) != VG_OK || (err = vg_uuid_new(worker)) != VG_OK)
		return err;
	return vg_store_scan_claim(s, worker, id, lease, now, &sc);
}

/* Finish scan id completed under its current lease. */
static enum vg_err
llm_fixture_finish(struct vg_store *s, const char *id)
{
	static struct vg_scan sc;
	struct vg_lease l;
	struct vg_scan_finish f = {.status = VG_SCAN_COMPLETED, .now_us = vg_time_now_us()};
	enum vg_err err;

	if ((err = vg_store_scan_get(s, id, &sc)) != VG_OK)
		return err;
	l = (struct vg_lease){sc.id, sc.attempt, sc.lease_token};
	return vg_store_scan_finish(s, &l, &f);
}

#endif
