/*
 * test_api_sources.c - the sources API (lib/domain) through the in-memory
 * transport, against the json backend in a fresh data directory: access by
 * role, uploads (new, same tree again, refused, over the declared limit),
 * snapshot files, threat profile versions and validation, quotas.  The
 * end-to-end suite (tests/e2e/sources.bats) drives the same routes through
 * nginx; this one runs in the sanitizer and valgrind builds cheaply.
 */
#include "config.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "archive/archive_int.h"
#include "auth/auth.h"
#include "core/fsutil.h"
#include "core/settings.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "domain/api.h"
#include "http/http.h"
#include "store/store.h"
#include "vt.h"

#define SECRET "test-secret-test-secret-test-secret-0123"

static const struct vg_route routes[] = {
	{"GET", "/v1/projects", VG_AUTH_USER, vg_api_project_list},
	{"POST", "/v1/projects", VG_AUTH_USER, vg_api_project_create},
	{"GET", "/v1/projects/{id}", VG_AUTH_USER, vg_api_project_get},
	{"PATCH", "/v1/projects/{id}", VG_AUTH_USER, vg_api_project_update},
	{"DELETE", "/v1/projects/{id}", VG_AUTH_USER, vg_api_project_delete},
	{"PUT", "/v1/projects/{id}/members/{user_id}", VG_AUTH_USER, vg_api_member_put},
	{"DELETE", "/v1/projects/{id}/members/{user_id}", VG_AUTH_USER, vg_api_member_delete},
	{"POST", "/v1/projects/{id}/repositories", VG_AUTH_USER, vg_api_repository_create},
	{"GET", "/v1/repositories/{id}", VG_AUTH_USER, vg_api_repository_get},
	{"GET", "/v1/repositories/{id}/snapshots", VG_AUTH_USER, vg_api_snapshot_list},
	{"POST", "/v1/repositories/{id}/snapshots", VG_AUTH_USER, vg_api_snapshot_create},
	{"POST", "/v1/repositories/{id}/threat-profiles", VG_AUTH_USER, vg_api_profile_create},
	{"GET", "/v1/snapshots/{id}/files", VG_AUTH_USER, vg_api_snapshot_files},
	{"GET", "/v1/snapshots/{id}/files/{path*}", VG_AUTH_USER, vg_api_snapshot_file},
	{"GET", "/v1/threat-profiles/{id}", VG_AUTH_USER, vg_api_profile_get},
	{"PUT", "/v1/threat-profiles/{id}", VG_AUTH_USER, vg_api_profile_put},
	{"GET", "/v1/ops/limits", VG_AUTH_OPERATOR, vg_api_limits},
};

static const struct vg_program program = {
	.role = "test", VG_HTTP_ROUTES(routes), .authenticate = vg_auth_authenticate,
};

static char datadir[256];

struct answer {
	int status;
	json_t *body;       /* parsed JSON, or NULL */
	char text[256];     /* the start of a non-JSON body */
	size_t consumed;
};

static void
answer_clear(struct answer *a)
{
	json_decref(a->body);
	memset(a, 0, sizeof *a);
}

/* One request; body of n bytes (n < 0: strlen) with its type, and an
 * optional declared length overriding the real one. */
static void
call(struct answer *a, const char *method, const char *uri, const char *token,
    const char *ctype, const void *body, long n, long declared)
{
	char m[32], u[512], auth[1024], cl[48], ct[96];
	const char *params[8];
	struct vg_http_mem *mem;
	const char *b;
	size_t k = 0, len;

	if (body && n < 0)
		n = (long)strlen(body);
	snprintf(m, sizeof m, "REQUEST_METHOD=%s", method);
	snprintf(u, sizeof u, "REQUEST_URI=%s", uri);
	params[k++] = m;
	params[k++] = u;
	if (token) {
		snprintf(auth, sizeof auth, "HTTP_AUTHORIZATION=Bearer %s", token);
		params[k++] = auth;
	}
	if (body) {
		snprintf(cl, sizeof cl, "CONTENT_LENGTH=%ld", declared >= 0 ? declared : n);
		snprintf(ct, sizeof ct, "CONTENT_TYPE=%s", ctype);
		params[k++] = cl;
		params[k++] = ct;
	}
	params[k] = NULL;
	memset(a, 0, sizeof *a);
	mem = vg_http_mem_new(params, body, body ? (size_t)n : 0);
	vg_http_handle(&program, vg_http_mem_io(mem));
	a->status = vg_http_mem_status(mem);
	a->consumed = vg_http_mem_consumed(mem);
	b = vg_http_mem_body(mem, &len);
	a->body = len ? json_loadb(b, len, 0, NULL) : NULL;
	snprintf(a->text, sizeof a->text, "%.*s", (int)(len < 200 ? len : 200), b);
	vg_http_mem_free(mem);
}

static const char *
jstr(const struct answer *a, const char *key)
{
	const char *s = json_string_value(json_object_get(a->body, key));

	return s ? s : "";
}

/* error.code, error.details.reason / .field of an error answer. */
static const char *
err_code(const struct answer *a)
{
	const char *s = json_string_value(json_object_get(json_object_get(a->body, "error"),
	    "code"));

	return s ? s : "";
}

static const char *
err_detail(const struct answer *a, const char *key)
{
	const char *s = json_string_value(json_object_get(json_object_get(json_object_get(
	    a->body, "error"), "details"), key));

	return s ? s : "";
}

/* A user with groups, and an access token for it (malloc'd). */
static char *
user(const char *email, unsigned groups, char id[VG_UUID_LEN + 1])
{
	struct vg_store *s = NULL;
	struct vg_user u;
	char *token = NULL;
	int64_t ttl;

	memset(&u, 0, sizeof u);
	vg_str_copy(u.email, sizeof u.email, email);
	u.groups = groups;
	if (vg_http_store(&s) != VG_OK || vg_store_user_create(s, &u) != VG_OK ||
	    vg_auth_issue_access(&u, NULL, vg_time_now_us() / 1000000, &token, &ttl) != VG_OK)
		return NULL;
	vg_str_copy(id, VG_UUID_LEN + 1, u.id);
	return token;
}

/* A tar of files {path, content} pairs (NULL-terminated) in *out. */
static size_t
tar_of(const char *const *files, unsigned char *out, size_t cap)
{
	size_t o = 0, i, n;

	for (i = 0; files[i]; i += 2) {
		n = strlen(files[i + 1]);
		o += vg_tar_header(out + o, cap - o, files[i], n);
		memcpy(out + o, files[i + 1], n);
		o += (n + 511) / 512 * 512;
	}
	memset(out + o, 0, 1024);
	return o + 1024;
}

/* Files under $datadir/tmp (a refused upload must leave none). */
static size_t
tmp_files(void)
{
	char dir[300];

	snprintf(dir, sizeof dir, "%s/tmp", datadir);
	return vg_fs_count_entries(dir);
}

static void
test_sources(void)
{
	char owner_id[VG_UUID_LEN + 1], viewer_id[VG_UUID_LEN + 1], other_id[VG_UUID_LEN + 1];
	char *owner = user("owner@x.test", VG_GROUP_USER, owner_id);
	char *viewer = user("viewer@x.test", VG_GROUP_USER, viewer_id);
	char *other = user("other@x.test", VG_GROUP_USER | VG_GROUP_OPERATOR, other_id);
	char uri[512], pid[64], rid[64], sid[64], prof[64];
	static unsigned char tar[64 * 1024];
	static const char *const good[] = {"src/a.c", "int main(void) { return 0; }\n",
	    "README", "hello\n", "docs/caf\xc3\xa9.md", "# caf\xc3\xa9\n", NULL};
	static const char *const evil[] = {"ok.c", "x", "../escape.c", "y", NULL};
	struct answer a;
	char msg[256];
	size_t n;

	VT_OK(owner && viewer && other, "three users with tokens");
	call(&a, "POST", "/v1/projects", owner, "application/json", "{\"name\":\"shop\"}", -1, -1);
	VT_EQ_INT(a.status, 201, "create a project");
	VT_EQ_STR(jstr(&a, "role"), "owner", "the creator owns it");
	snprintf(pid, sizeof pid, "%s", jstr(&a, "id"));
	answer_clear(&a);

	snprintf(uri, sizeof uri, "/v1/projects/%s", pid);
	call(&a, "GET", uri, other, NULL, NULL, 0, -1);
	VT_EQ_INT(a.status, 404, "a stranger sees no project");
	answer_clear(&a);
	snprintf(uri, sizeof uri, "/v1/projects/%s/members/%s", pid, viewer_id);
	call(&a, "PUT", uri, owner, "application/json", "{\"role\":\"viewer\"}", -1, -1);
	VT_EQ_INT(a.status, 201, "the owner adds a viewer");
	answer_clear(&a);
	snprintf(uri, sizeof uri, "/v1/projects/%s", pid);
	call(&a, "PATCH", uri, viewer, "application/json", "{\"name\":\"x\"}", -1, -1);
	VT_EQ_INT(a.status, 403, "a viewer cannot rename");
	answer_clear(&a);
	snprintf(uri, sizeof uri, "/v1/projects/%s/members/%s", pid, owner_id);
	call(&a, "DELETE", uri, owner, NULL, NULL, 0, -1);
	VT_EQ_INT(a.status, 409, "the last owner cannot leave");
	answer_clear(&a);

	snprintf(uri, sizeof uri, "/v1/projects/%s/repositories", pid);
	call(&a, "POST", uri, viewer, "application/json",
	    "{\"name\":\"api\",\"source_type\":\"upload\"}", -1, -1);
	VT_EQ_INT(a.status, 403, "a viewer cannot add a repository");
	answer_clear(&a);
	call(&a, "POST", uri, owner, "application/json",
	    "{\"name\":\"api\",\"source_type\":\"svn\"}", -1, -1);
	VT_EQ_INT(a.status, 400, "an unknown source type");
	VT_EQ_STR(err_detail(&a, "field"), "source_type", "names the field");
	answer_clear(&a);
	call(&a, "POST", uri, owner, "application/json",
	    "{\"name\":\"api\",\"source_type\":\"upload\"}", -1, -1);
	VT_EQ_INT(a.status, 201, "create an upload repository");
	VT_EQ_STR(jstr(&a, "ingest_status"), "pending", "pending until an upload");
	snprintf(rid, sizeof rid, "%s", jstr(&a, "id"));
	answer_clear(&a);

	/* uploads */
	snprintf(uri, sizeof uri, "/v1/repositories/%s/snapshots", rid);
	n = tar_of(evil, tar, sizeof tar);
	call(&a, "POST", uri, owner, "application/x-tar", tar, (long)n, -1);
	VT_EQ_INT(a.status, 422, "a traversal entry is refused");
	VT_EQ_STR(err_code(&a), "invalid_archive", "as invalid_archive");
	VT_EQ_STR(err_detail(&a, "reason"), "path_traversal", "with the reason");
	VT_EQ_INT((long)tmp_files(), 0, "nothing left in tmp");
	answer_clear(&a);
	snprintf(uri, sizeof uri, "/v1/repositories/%s", rid);
	call(&a, "GET", uri, owner, NULL, NULL, 0, -1);
	VT_EQ_STR(jstr(&a, "ingest_status"), "failed", "the repository shows the failure");
	answer_clear(&a);

	snprintf(uri, sizeof uri, "/v1/repositories/%s/snapshots", rid);
	n = tar_of(good, tar, sizeof tar);
	call(&a, "POST", uri, owner, "application/x-tar", tar, (long)n, 4096L * 1024 * 1024 * 1024);
	VT_EQ_INT(a.status, 413, "a declared length over the limit");
	VT_EQ_INT((long)a.consumed, 0, "is refused before reading");
	answer_clear(&a);
	call(&a, "POST", uri, owner, "application/x-tar", tar, (long)n, (long)n + 100);
	VT_EQ_INT(a.status, 400, "a body shorter than declared");
	answer_clear(&a);
	call(&a, "GET", uri, owner, NULL, NULL, 0, -1);
	VT_EQ_INT((long)json_array_size(json_object_get(a.body, "items")), 0,
	    "refused uploads made no snapshot");
	answer_clear(&a);
	call(&a, "POST", uri, viewer, "application/x-tar", tar, (long)n, -1);
	VT_EQ_INT(a.status, 403, "a viewer cannot upload");
	answer_clear(&a);
	call(&a, "POST", uri, owner, "application/x-tar", tar, (long)n, -1);
	VT_EQ_INT(a.status, 201, "a good tar makes a snapshot");
	VT_EQ_INT((long)json_integer_value(json_object_get(a.body, "file_count")), 3, "three files");
	snprintf(sid, sizeof sid, "%s", jstr(&a, "id"));
	answer_clear(&a);
	call(&a, "POST", uri, owner, "application/x-tar", tar, (long)n, -1);
	VT_EQ_INT(a.status, 200, "the same tree again");
	VT_EQ_STR(jstr(&a, "id"), sid, "is the same snapshot");
	answer_clear(&a);

	snprintf(uri, sizeof uri, "/v1/snapshots/%s/files?path_prefix=src/", sid);
	call(&a, "GET", uri, viewer, NULL, NULL, 0, -1);
	VT_EQ_INT((long)json_array_size(json_object_get(a.body, "items")), 1, "prefix filter");
	answer_clear(&a);
	snprintf(uri, sizeof uri, "/v1/snapshots/%s/files?cursor=not-a-cursor", sid);
	call(&a, "GET", uri, viewer, NULL, NULL, 0, -1);
	VT_EQ_INT(a.status, 400, "a cursor the list did not hand out");
	answer_clear(&a);
	snprintf(uri, sizeof uri, "/v1/snapshots/%s/files?limit=1", sid);
	call(&a, "GET", uri, viewer, NULL, NULL, 0, -1);
	snprintf(uri, sizeof uri, "/v1/snapshots/%s/files?limit=1&cursor=%s", sid,
	    jstr(&a, "next_cursor"));
	answer_clear(&a);
	call(&a, "GET", uri, viewer, NULL, NULL, 0, -1);
	VT_EQ_STR(json_string_value(json_object_get(json_array_get(json_object_get(a.body,
	    "items"), 0), "path")), "docs/caf\xc3\xa9.md", "the next page goes on");
	answer_clear(&a);
	snprintf(uri, sizeof uri, "/v1/snapshots/%s/files/src/a.c", sid);
	call(&a, "GET", uri, viewer, NULL, NULL, 0, -1);
	VT_EQ_INT(a.status, 200, "one file's content");
	VT_EQ_STR(a.text, "int main(void) { return 0; }\n", "as uploaded");
	answer_clear(&a);
	snprintf(uri, sizeof uri, "/v1/snapshots/%s/files/docs/caf%%C3%%A9.md", sid);
	call(&a, "GET", uri, viewer, NULL, NULL, 0, -1);
	VT_EQ_INT(a.status, 200, "a name outside ASCII, percent-encoded");
	VT_EQ_STR(a.text, "# caf\xc3\xa9\n", "its content");
	answer_clear(&a);
	snprintf(uri, sizeof uri, "/v1/snapshots/%s/files/src/none.c", sid);
	call(&a, "GET", uri, viewer, NULL, NULL, 0, -1);
	VT_EQ_INT(a.status, 404, "a missing file");
	answer_clear(&a);

	/* threat profiles */
	snprintf(uri, sizeof uri, "/v1/repositories/%s/threat-profiles", rid);
	call(&a, "POST", uri, owner, "application/json",
	    "{\"name\":\"p\",\"focus_categories\":[\"CWE-89\",\"telepathy\"]}", -1, -1);
	VT_EQ_INT(a.status, 400, "an unknown focus class");
	VT_EQ_STR(err_detail(&a, "field"), "focus_categories", "names the field");
	answer_clear(&a);
	call(&a, "POST", uri, owner, "application/json",
	    "{\"name\":\"p\",\"out_of_scope_paths\":[\"../x\"]}", -1, -1);
	VT_EQ_STR(err_detail(&a, "field"), "out_of_scope_paths", "a glob that climbs out");
	answer_clear(&a);
	call(&a, "POST", uri, owner, "application/json", "{\"name\":\"p\",\"colour\":1}", -1, -1);
	VT_EQ_STR(err_detail(&a, "field"), "colour", "an unknown member");
	answer_clear(&a);
	call(&a, "POST", uri, owner, "application/json",
	    "{\"name\":\"p\",\"assets\":[\"cards\"],\"min_severity\":\"low\"}", -1, -1);
	VT_EQ_INT(a.status, 201, "a profile");
	VT_EQ_INT((long)json_integer_value(json_object_get(a.body, "version")), 1, "version 1");
	snprintf(prof, sizeof prof, "%s", jstr(&a, "id"));
	answer_clear(&a);
	snprintf(uri, sizeof uri, "/v1/threat-profiles/%s", prof);
	call(&a, "PUT", uri, owner, "application/json",
	    "{\"name\":\"p2\",\"assets\":[\"tokens\"]}", -1, -1);
	VT_EQ_INT((long)json_integer_value(json_object_get(a.body, "version")), 2, "PUT adds v2");
	answer_clear(&a);
	snprintf(uri, sizeof uri, "/v1/threat-profiles/%s?version=1", prof);
	call(&a, "GET", uri, viewer, NULL, NULL, 0, -1);
	VT_EQ_STR(json_string_value(json_array_get(json_object_get(a.body, "assets"), 0)),
	    "cards", "version 1 is kept");
	VT_EQ_STR(jstr(&a, "name"), "p", "with the name it had");
	answer_clear(&a);

	/* quotas and the limits */
	setenv("VEGA_MAX_PROJECTS_PER_USER", "1", 1);
	vg_settings_load(msg, sizeof msg);
	call(&a, "POST", "/v1/projects", owner, "application/json", "{\"name\":\"two\"}", -1, -1);
	VT_EQ_INT(a.status, 429, "past the project quota");
	VT_EQ_STR(err_code(&a), "quota_exceeded", "quota_exceeded");
	VT_EQ_STR(err_detail(&a, "setting"), "VEGA_MAX_PROJECTS_PER_USER", "names the setting");
	answer_clear(&a);
	call(&a, "GET", "/v1/ops/limits", owner, NULL, NULL, 0, -1);
	VT_EQ_INT(a.status, 403, "limits are for operators");
	answer_clear(&a);
	call(&a, "GET", "/v1/ops/limits", other, NULL, NULL, 0, -1);
	VT_EQ_INT((long)json_integer_value(json_object_get(json_object_get(a.body, "limits"),
	    "VEGA_MAX_PROJECTS_PER_USER")), 1, "an operator sees the active values");
	answer_clear(&a);

	snprintf(uri, sizeof uri, "/v1/projects/%s", pid);
	call(&a, "DELETE", uri, owner, NULL, NULL, 0, -1);
	VT_EQ_INT(a.status, 204, "the owner deletes the project");
	answer_clear(&a);
	snprintf(uri, sizeof uri, "/v1/repositories/%s", rid);
	call(&a, "GET", uri, owner, NULL, NULL, 0, -1);
	VT_EQ_INT(a.status, 404, "its repositories are gone");
	answer_clear(&a);
	free(owner);
	free(viewer);
	free(other);
}

int
main(void)
{
	char msg[256];

	snprintf(datadir, sizeof datadir, "/tmp/vg-api-XXXXXX");
	if (!mkdtemp(datadir))
		return 1;
	setenv("VEGA_DATA_DIR", datadir, 1);
	setenv("VEGA_PERSISTENCE_BACKEND", "json", 1);
	setenv("VEGA_AUTH_SECRET", SECRET, 1);
	unsetenv("VEGA_MAX_PROJECTS_PER_USER");
	if (vg_settings_load(msg, sizeof msg) != VG_OK || vg_auth_init() != VG_OK) {
		fprintf(stderr, "setup: %s\n", msg);
		return 1;
	}
	test_sources();
	vg_http_health_reset();
	vg_auth_reset();
	vg_fs_remove_tree(datadir);
	return vt_done();
}
