/*
 * test_git.c - lib/archive/git: URL and ref policy, credential redaction,
 * and real fetches from repositories this test makes with the git CLI
 * (file:// URLs, with VEGA_ALLOW_FILE_GIT_URLS on), compared with the
 * same trees ingested from tar files.  Fake "git" programs (shell
 * scripts through VEGA_GIT_PROGRAM) stand in for a git that hangs, dies
 * mid-stream, or plants a hook.
 */
#include "config.h"
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "archive/archive.h"
#include "archive/git.h"
#include "blob/blob.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/settings.h"
#include "core/timeutil.h"
#include "store/store.h"
#include "vt.h"

static char root[] = "/tmp/vega-git.XXXXXX";
static char datadir[512], tmpdir[PATH_MAX], src[PATH_MAX], src_url[PATH_MAX + 8];
static char marker[PATH_MAX];
static struct vg_blob *blob;

/* ---- helpers ---- */

static int
run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
run(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* stdout of a command, first line, into out. */
static void
capture(char *out, size_t len, const char *cmd)
{
	FILE *p = popen(cmd, "r");

	out[0] = '\0';
	if (!p)
		return;
	if (fgets(out, (int)len, p))
		out[strcspn(out, "\n")] = '\0';
	pclose(p);
}

static void
write_file(const char *path, const char *text, int mode)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
	chmod(path, (mode_t)mode);
}

static void
settings(const char *allow_file, const char *program, const char *timeout)
{
	char msg[256];

	setenv("VEGA_ALLOW_FILE_GIT_URLS", allow_file, 1);
	setenv("VEGA_GIT_PROGRAM", program, 1);
	setenv("VEGA_GIT_TIMEOUT_SECONDS", timeout, 1);
	if (vg_settings_load(msg, sizeof msg) != VG_OK)
		fprintf(stderr, "settings: %s\n", msg);
}

static enum vg_err
fd_read(void *ctx, void *buf, size_t cap, size_t *got)
{
	ssize_t n = read(*(int *)ctx, buf, cap);

	if (n < 0)
		return VG_ERR_IO;
	*got = (size_t)n;
	return VG_OK;
}

/* The digest of a tar file, through the archive ingester. */
static void
tar_digest(const char *tar, char out[VG_ARCHIVE_DIGEST_HEX])
{
	struct vg_archive_result res;
	int fd = open(tar, O_RDONLY);

	out[0] = '\0';
	memset(&res, 0, sizeof res);
	if (fd >= 0 && vg_archive_ingest(blob, fd_read, &fd, NULL, &res) == VG_OK)
		memcpy(out, res.digest, VG_ARCHIVE_DIGEST_HEX);
	vg_archive_result_clear(&res);
	if (fd >= 0)
		close(fd);
}

/* The work tree of src at its current checkout, as a tar, and its digest. */
static void
worktree_digest(const char *name, char out[VG_ARCHIVE_DIGEST_HEX])
{
	char tar[PATH_MAX + 32];

	snprintf(tar, sizeof tar, "%s/%s.tar", root, name);
	run("tar --exclude=.git -C '%s' -cf '%s' .", src, tar);
	tar_digest(tar, out);
}

static size_t
tmp_entries(void)
{
	return vg_fs_count_entries(tmpdir);
}

/* Out of line: vt.h's message buffer is smaller than a result's fields. */
__attribute__((noinline)) static const char *
code_of(const struct vg_git_result *r)
{
	return r->code;
}

__attribute__((noinline)) static const char *
digest_of(const struct vg_git_result *r)
{
	return r->archive.digest;
}

/* ---- policy tables ---- */

struct url_case {
	const char *url;
	bool ok;
	const char *why;   /* the case, for the TAP line */
};

static void
test_url_policy(void)
{
	static char longurl[VG_STORE_GIT_URL_MAX + 64];
	static const struct url_case cases[] = {
		{"https://github.com/org/repo.git", true, "plain https"},
		{"https://github.com/org/repo", true, "https without .git"},
		{"https://user:tok%40en@git.example.com:8443/a/b.git", true,
		    "https with credentials and a port"},
		{"https://x-access-token:abc123@github.com/o/r.git", true, "https with a token"},
		{"https://[::1]:8443/r.git", true, "https to an IPv6 host"},
		{"https://host/path/repo.git?x=1", true, "https with a query"},
		{"ssh://git@github.com/org/repo.git", true, "ssh with a user"},
		{"ssh://host:2222/~user/repo", true, "ssh with a port and ~"},
		{"", false, "empty"},
		{"http://github.com/o/r", false, "http"},
		{"git://github.com/o/r", false, "git protocol"},
		{"ftp://host/r", false, "ftp"},
		{"HTTPS://host/r", false, "an upper-case scheme"},
		{"ext::sh -c touch% /tmp/pwned", false, "ext:: with a command"},
		{"ext::ssh://host/x", false, "ext:: wrapping ssh"},
		{"fd::17", false, "fd:: helper"},
		{"-uupload-pack=touch /tmp/x", false, "an option: -u"},
		{"--upload-pack=touch", false, "an option: --upload-pack"},
		{"-uupload-pack=touch%20x", false, "an option without spaces"},
		{"https://-oProxyCommand=x/r", false, "a host that is an option"},
		{"ssh://-oProxyCommand=touch%20x/r", false, "ssh host that is an option"},
		{"ssh://-oProxyCommand=x@host/r", false, "ssh user that is an option"},
		{"ssh://user:pw@host/r", false, "ssh with a password"},
		{"git@github.com:org/repo.git", false, "scp-like form"},
		{"host:repo", false, "scp-like form without a user"},
		{"/srv/git/repo", false, "an absolute local path"},
		{"./repo", false, "a relative local path"},
		{"file:///tmp/repo", false, "file:// with the setting off"},
		{"https://host/a b", false, "a space"},
		{"https://host/a\nb", false, "a line break"},
		{"https://host/a\tb", false, "a tab"},
		{"https://host/a%0Ab", false, "an escaped line break"},
		{"https://host/a%zz", false, "a broken escape"},
		{"https://host/a%4", false, "a cut escape"},
		{"https://host", false, "no path"},
		{"https://host/", false, "an empty path"},
		{"https://ho$st/r", false, "a host with '$'"},
		{"https://host:99999/r", false, "a port out of range"},
		{"https://host:/r", false, "an empty port"},
		{"https://@host/r", false, "an empty user"},
		{"https://host/r#frag", false, "a fragment"},
		{"https://host/r\x7f", false, "DEL"},
		{"https://h\xc3\xb3st/r", false, "non-ASCII"},
		{"https://host/a\\b", false, "a backslash"},
		{longurl, false, "longer than VG_STORE_GIT_URL_MAX"},
	};
	static const struct url_case file_cases[] = {
		{"file:///tmp/repo", true, "file:// with the setting on"},
		{"file:///tmp/repo.git", true, "file:// to a bare repository"},
		{"file://host/tmp/repo", false, "file:// with a host"},
		{"file://", false, "file:// without a path"},
		{"file:///tmp/a b", false, "file:// with a space"},
		{"https://github.com/org/repo.git", true, "https still with the setting on"},
		{"/tmp/repo", false, "a local path even with the setting on"},
	};
	const char *why;
	size_t i;
	int n;

	n = snprintf(longurl, sizeof longurl, "https://host/");
	memset(longurl + n, 'a', VG_STORE_GIT_URL_MAX + 1 - (size_t)n);
	longurl[VG_STORE_GIT_URL_MAX + 1] = '\0';

	settings("0", "git", "60");
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		why = NULL;
		VT_EQ_INT(vg_git_url_check(cases[i].url, &why), cases[i].ok ? VG_OK : VG_ERR_INVALID,
		    cases[i].why);
		VT_OK(cases[i].ok ? why == NULL : (why != NULL && *why), "a refusal says why");
	}
	VT_EQ_INT(vg_git_url_check(NULL, NULL), VG_ERR_INVALID, "NULL URL");
	settings("1", "git", "60");
	for (i = 0; i < sizeof file_cases / sizeof file_cases[0]; i++)
		VT_EQ_INT(vg_git_url_check(file_cases[i].url, NULL),
		    file_cases[i].ok ? VG_OK : VG_ERR_INVALID, file_cases[i].why);
}

static void
test_ref_policy(void)
{
	static char longref[VG_STORE_GIT_REF_MAX + 8];
	static const struct url_case cases[] = {
		{"main", true, "a branch"},
		{"feature/x-1", true, "a branch with a slash"},
		{"v1.2.3", true, "a tag"},
		{"refs/heads/main", true, "a full ref"},
		{"refs/pull/12/head", true, "a pull ref"},
		{"HEAD", true, "HEAD"},
		{"release_2024.01", true, "dots and underscores"},
		{"0123456789abcdef0123456789abcdef01234567", true, "a SHA-1 commit id"},
		{"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true,
		    "a SHA-256 commit id"},
		{"-main", false, "starts with '-'"},
		{"--upload-pack=touch", false, "an option"},
		{"+main", false, "starts with '+' (a forced refspec)"},
		{"a..b", false, "\"..\""},
		{"a/.hidden", false, "a component starting with '.'"},
		{".x", false, "starts with '.'"},
		{"x.lock", false, "ends in .lock"},
		{"a/b.lock/c", false, "a component ending in .lock"},
		{"a//b", false, "\"//\""},
		{"/a", false, "a leading '/'"},
		{"a/", false, "a trailing '/'"},
		{"a.", false, "a trailing '.'"},
		{"@", false, "\"@\""},
		{"a@{1}", false, "\"@{\""},
		{"a b", false, "a space"},
		{"a~1", false, "'~'"},
		{"a^", false, "'^'"},
		{"a:b", false, "':' (a refspec with a destination)"},
		{"a?", false, "'?'"},
		{"a*", false, "'*'"},
		{"a[", false, "'['"},
		{"a\\b", false, "a backslash"},
		{"a\001b", false, "a control character"},
		{"caf\xc3\xa9", false, "non-ASCII"},
		{longref, false, "longer than VG_STORE_GIT_REF_MAX"},
	};
	size_t i;

	memset(longref, 'r', VG_STORE_GIT_REF_MAX + 1);
	longref[VG_STORE_GIT_REF_MAX + 1] = '\0';
	VT_EQ_INT(vg_git_ref_check(NULL, NULL), VG_OK, "no ref: HEAD");
	VT_EQ_INT(vg_git_ref_check("", NULL), VG_OK, "empty ref: HEAD");
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *why = NULL;

		VT_EQ_INT(vg_git_ref_check(cases[i].url, &why), cases[i].ok ? VG_OK : VG_ERR_INVALID,
		    cases[i].why);
		VT_OK(cases[i].ok ? why == NULL : why != NULL, "a refusal says why");
	}
}

static void
test_redaction(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"https://user:secret@host/x", "https://***@host/x"},
		{"https://ghp_TOKEN@github.com/o/r.git", "https://***@github.com/o/r.git"},
		{"ssh://git@host/r", "ssh://***@host/r"},
		{"https://host/r.git", "https://host/r.git"},
		{"fatal: unable to access 'https://u:p4ss@h.example/r/': The requested URL returned "
		    "error: 403", "fatal: unable to access 'https://***@h.example/r/': The requested "
		    "URL returned error: 403"},
		{"from https://a:b@h1/x and \"https://c:d@h2/y\"", "from https://***@h1/x and "
		    "\"https://***@h2/y\""},
		{"https://u:p@ss@host/x", "https://***@host/x"},
		{"https://u:p/ss@host/x", "https://***@host/x"},
		{"no URL here", "no URL here"},
		{"", ""},
	};
	char out[256], small[12];
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		vg_git_redact(cases[i].in, out, sizeof out);
		VT_EQ_STR(out, cases[i].out, cases[i].in);
	}
	vg_git_redact("https://user:secret@host/x", small, sizeof small);
	VT_OK(strlen(small) == sizeof small - 1 && !strstr(small, "secret") && !strstr(small, "sec"),
	    "a short buffer: cut, still no secret");
	vg_git_redact(NULL, out, sizeof out);
	VT_EQ_STR(out, "", "NULL text");
}

/* ---- real fetches ---- */

static const char *const hook_names[] = {
	"reference-transaction", "post-checkout", "post-merge", "pre-auto-gc", "post-update",
	"pre-receive", "update", "post-receive", "push-to-checkout", "fsmonitor-watchman",
	"post-index-change", "post-rewrite",
};

/* A hook script that leaves a trace in marker. */
static void
plant_hooks(const char *hooks_dir)
{
	char path[PATH_MAX + 64], script[PATH_MAX + 64];
	size_t i;

	vg_fs_mkdir_p(hooks_dir, 0755);
	snprintf(script, sizeof script, "#!/bin/sh\necho \"$0\" >> '%s'\n", marker);
	for (i = 0; i < sizeof hook_names / sizeof hook_names[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", hooks_dir, hook_names[i]);
		write_file(path, script, 0755);
	}
}

struct tree_digests {
	char v1[VG_ARCHIVE_DIGEST_HEX], main[VG_ARCHIVE_DIGEST_HEX];
	char feature[VG_ARCHIVE_DIGEST_HEX];
	char c1[80], c_main[80], c_feature[80];
};

#define G "git -C '%s' -c user.name=Test -c user.email=test@example.invalid "

/*
 * src: commit 1 (tag v1, annotated) with a .gitattributes that would drop
 * and rewrite files in an archive; commit 2 on main; a feature branch.
 * Every state's work tree is tarred for its expected digest.
 */
static int
make_source(struct tree_digests *d)
{
	char path[PATH_MAX + 64], cmd[PATH_MAX + 128], hooks[PATH_MAX + 32];

	if (run("git init -q -b main '%s'", src) != 0)
		return -1;
	snprintf(path, sizeof path, "%s/src", src);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/src/main.c", src);
	write_file(path, "int main(void) { return 0; }\n", 0644);
	snprintf(path, sizeof path, "%s/README.md", src);
	write_file(path, "# test\nline ends LF, eol=crlf would make them CRLF\n", 0644);
	snprintf(path, sizeof path, "%s/secret.c", src);
	write_file(path, "/* dropped by export-ignore unless neutralized */\n", 0644);
	snprintf(path, sizeof path, "%s/stamp.txt", src);
	write_file(path, "$Format:%H$ $Id$\n", 0644);
	snprintf(path, sizeof path, "%s/.gitattributes", src);
	write_file(path, "secret.c export-ignore\nstamp.txt export-subst ident\n"
	    "*.md text eol=crlf\n", 0644);
	if (run(G "add -A && " G "commit -qm one && " G "tag -a v1 -m v1", src, src, src) != 0)
		return -1;
	worktree_digest("v1", d->v1);
	snprintf(cmd, sizeof cmd, "git -C '%s' rev-parse HEAD", src);
	capture(d->c1, sizeof d->c1, cmd);

	snprintf(path, sizeof path, "%s/lib.py", src);
	write_file(path, "print('two')\n", 0644);
	/* A tag on the tip: a fetch that followed tags would update a ref
	 * (and run a reference-transaction hook, were hooks on). */
	if (run(G "add -A && " G "commit -qm two && " G "tag v2", src, src, src) != 0)
		return -1;
	worktree_digest("main", d->main);
	capture(d->c_main, sizeof d->c_main, cmd);

	snprintf(path, sizeof path, "%s/src/main.c", src);
	if (run(G "checkout -q -b feature", src) != 0)
		return -1;
	write_file(path, "int main(void) { return 1; }\n", 0644);
	if (run(G "commit -qam three", src) != 0)
		return -1;
	worktree_digest("feature", d->feature);
	capture(d->c_feature, sizeof d->c_feature, cmd);
	if (run(G "checkout -q main", src) != 0)
		return -1;

	snprintf(hooks, sizeof hooks, "%s/.git/hooks", src);
	plant_hooks(hooks);
	return 0;
}

struct fetch_case {
	const char *name;
	const char *ref;
	const char *digest;   /* expected */
	const char *commit;
};

static void
test_fetches(const struct tree_digests *d)
{
	const struct fetch_case cases[] = {
		{"the default branch (HEAD)", NULL, d->main, d->c_main},
		{"a branch: main", "main", d->main, d->c_main},
		{"another branch: feature", "feature", d->feature, d->c_feature},
		{"a full ref", "refs/heads/feature", d->feature, d->c_feature},
		{"an annotated tag: v1", "v1", d->v1, d->c1},
		{"a lightweight tag: v2", "v2", d->main, d->c_main},
		{"a commit id", d->c1, d->v1, d->c1},
	};
	struct vg_git_result res;
	size_t i;

	settings("1", "git", "120");
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		enum vg_err err = vg_git_fetch(blob, src_url, cases[i].ref, NULL, &res);

		VT_EQ_INT(err, VG_OK, cases[i].name);
		if (err)
			printf("# %s: %s\n", res.code, res.message);
		VT_OK(d->main[0] && strcmp(digest_of(&res), cases[i].digest) == 0,
		    "same digest as the tree's tar");
		VT_EQ_STR(res.commit, cases[i].commit, "the commit fetched");
		VT_EQ_STR(code_of(&res), "", "no error code");
		VT_EQ_INT(tmp_entries(), 0, "no temporary directory left");
		vg_git_result_clear(&res);
	}
	VT_OK(strcmp(d->main, d->feature) != 0 && strcmp(d->main, d->v1) != 0,
	    "the three trees differ (the cases are telling)");

	/* The snapshot is there, with the file export-ignore would drop. */
	VT_EQ_INT(vg_git_fetch(blob, src_url, "main", NULL, &res), VG_OK, "fetch main again");
	{
		json_t *m = NULL, *files;
		size_t k;
		bool secret = false, stamp_raw = false;

		VT_EQ_INT(vg_archive_manifest_load(blob, res.archive.digest, 1 << 20, &m), VG_OK,
		    "its manifest is stored");
		VT_OK(res.archive.existed, "the same tree again: stored once");
		files = json_object_get(m, "files");
		for (k = 0; k < json_array_size(files); k++) {
			json_t *f = json_array_get(files, k);
			const char *p = json_string_value(json_object_get(f, "path"));

			if (p && strcmp(p, "secret.c") == 0)
				secret = true;
			if (p && strcmp(p, "stamp.txt") == 0)
				stamp_raw = json_integer_value(json_object_get(f, "size")) == 17;
		}
		VT_OK(secret, "export-ignore in the tree's .gitattributes drops nothing");
		VT_OK(stamp_raw, "export-subst and ident rewrite nothing");
		json_decref(m);
	}
	vg_git_result_clear(&res);
}

static void
test_failures(void)
{
	struct vg_git_result res;
	struct vg_archive_limits lim;
	char url[PATH_MAX + 128], path[PATH_MAX + 64];

	settings("1", "git", "120");
	VT_EQ_INT(vg_git_fetch(blob, src_url, "nosuch", NULL, &res), VG_ERR_NOT_FOUND,
	    "a missing branch: VG_ERR_NOT_FOUND");
	VT_EQ_STR(code_of(&res), "git_ref_not_found", "code git_ref_not_found");
	VT_OK(strstr(res.message, src_url) && strstr(res.message, "nosuch"),
	    "the message names the URL and the ref");
	VT_OK(strstr(res.message, "couldn't find remote ref"), "and quotes git");
	VT_EQ_INT(tmp_entries(), 0, "nothing left after a missing ref");
	vg_git_result_clear(&res);

	VT_EQ_INT(vg_git_fetch(blob, src_url, "0123456789abcdef0123456789abcdef01234567", NULL,
	    &res), VG_ERR_NOT_FOUND, "a missing commit: VG_ERR_NOT_FOUND");
	VT_EQ_STR(code_of(&res), "git_ref_not_found", "code git_ref_not_found for a commit");
	vg_git_result_clear(&res);

	snprintf(url, sizeof url, "file://%s/no-such-repo", root);
	VT_EQ_INT(vg_git_fetch(blob, url, NULL, NULL, &res), VG_ERR_UNAVAILABLE,
	    "no repository there: VG_ERR_UNAVAILABLE");
	VT_EQ_STR(code_of(&res), "git_fetch_failed", "code git_fetch_failed");
	VT_EQ_INT(tmp_entries(), 0, "nothing left after a failed fetch");
	vg_git_result_clear(&res);

	VT_EQ_INT(vg_git_fetch(blob, src_url, "--upload-pack=touch", NULL, &res), VG_ERR_INVALID,
	    "an option as ref: refused");
	VT_EQ_STR(code_of(&res), "git_ref_invalid", "code git_ref_invalid");
	vg_git_result_clear(&res);

	settings("0", "git", "120");
	VT_EQ_INT(vg_git_fetch(blob, src_url, NULL, NULL, &res), VG_ERR_INVALID,
	    "file:// with the setting off: refused");
	VT_EQ_STR(code_of(&res), "git_url_refused", "code git_url_refused");
	VT_OK(strstr(res.message, "VEGA_ALLOW_FILE_GIT_URLS") != NULL, "the reason is given");
	VT_EQ_INT(tmp_entries(), 0, "a refused URL makes no temporary directory");
	vg_git_result_clear(&res);

	/* The tree against the archive limits. */
	settings("1", "git", "120");
	vg_archive_limits_from_settings(&lim);
	lim.file_bytes = 16;
	VT_EQ_INT(vg_git_fetch(blob, src_url, "main", &lim, &res), VG_ERR_INVALID_ARCHIVE,
	    "a file over the per-file limit: refused");
	VT_EQ_STR(code_of(&res), "file_too_large", "code file_too_large (the archive's reason)");
	VT_EQ_INT(tmp_entries(), 0, "nothing left after a refused tree");
	vg_git_result_clear(&res);

	/* A link leaving the tree, committed to a second repository. */
	snprintf(path, sizeof path, "%s/evil", root);
	run("git init -q -b main '%s' && ln -s /etc/passwd '%s/passwd' && echo x > '%s/a' && "
	    G "add -A && " G "commit -qm evil", path, path, path, path, path);
	snprintf(url, sizeof url, "file://%s", path);
	VT_EQ_INT(vg_git_fetch(blob, url, NULL, NULL, &res), VG_ERR_INVALID_ARCHIVE,
	    "a symbolic link out of the tree: refused");
	VT_EQ_STR(code_of(&res), "link_outside_tree", "code link_outside_tree");
	VT_EQ_INT(tmp_entries(), 0, "nothing left after it");
	vg_git_result_clear(&res);
}

static void
test_credentials_never_shown(void)
{
	static const char url[] = "https://someone:s3cr3t-T0KEN@127.0.0.1:1/r.git";
	struct vg_git_result res;
	char logpath[PATH_MAX + 16], logtext[65536];
	FILE *logf;
	size_t n = 0;

	snprintf(logpath, sizeof logpath, "%s/log.txt", root);
	logf = fopen(logpath, "w+");
	vg_log_set_stream(logf);
	settings("0", "git", "60");
	VT_EQ_INT(vg_git_fetch(blob, url, NULL, NULL, &res), VG_ERR_UNAVAILABLE,
	    "nothing listens on 127.0.0.1:1: fetch failed");
	VT_EQ_STR(code_of(&res), "git_fetch_failed", "code git_fetch_failed");
	VT_OK(strstr(res.message, "https://***@127.0.0.1:1/r.git") != NULL,
	    "the message shows the redacted URL");
	VT_OK(!strstr(res.message, "s3cr3t") && !strstr(res.message, "someone"),
	    "the message holds no credential");
	vg_log_set_stream(NULL);
	if (logf) {
		fflush(logf);
		rewind(logf);
		n = fread(logtext, 1, sizeof logtext - 1, logf);
		fclose(logf);
	}
	logtext[n] = '\0';
	VT_OK(n > 0 && strstr(logtext, "git_fetch_failed"), "the failure was logged");
	VT_OK(!strstr(logtext, "s3cr3t"), "the log holds no credential");
	VT_EQ_INT(tmp_entries(), 0, "nothing left");
	vg_git_result_clear(&res);
}

/* Fake git programs: shell scripts wrapping the real one. */
static void
test_fake_git(const struct tree_digests *d)
{
	char sleeper[PATH_MAX + 32], breaker[PATH_MAX + 32], planter[PATH_MAX + 32];
	char envdump[PATH_MAX + 32], spy[PATH_MAX + 32], text[PATH_MAX * 4 + 256];
	struct vg_git_result res;
	int64_t t0;
	FILE *f;
	size_t n;

	snprintf(sleeper, sizeof sleeper, "%s/git-sleeps", root);
	write_file(sleeper, "#!/bin/sh\n"
	    "case \" $* \" in *\" fetch \"*) sleep 30; exit 0;; esac\n"
	    "exec git \"$@\"\n", 0755);
	settings("1", sleeper, "1");
	t0 = vg_time_mono_us();
	VT_EQ_INT(vg_git_fetch(blob, src_url, NULL, NULL, &res), VG_ERR_UNAVAILABLE,
	    "a fetch that hangs: VG_ERR_UNAVAILABLE");
	VT_EQ_STR(code_of(&res), "git_timeout", "code git_timeout");
	VT_OK(strstr(res.message, "1 seconds") != NULL, "the message names the timeout");
	VT_OK(vg_time_mono_us() - t0 < 10000000, "killed after about a second, not 30");
	VT_EQ_INT(tmp_entries(), 0, "nothing left after a timeout");
	vg_git_result_clear(&res);

	/* git archive dying half way: git's failure, not a "truncated" archive. */
	snprintf(breaker, sizeof breaker, "%s/git-breaks", root);
	write_file(breaker, "#!/bin/sh\n"
	    "case \" $* \" in *\" archive \"*) git \"$@\" | head -c 1000; "
	    "echo 'fatal: archive broke' >&2; exit 1;; esac\n"
	    "exec git \"$@\"\n", 0755);
	settings("1", breaker, "60");
	VT_EQ_INT(vg_git_fetch(blob, src_url, NULL, NULL, &res), VG_ERR_UNAVAILABLE,
	    "git archive failing mid-stream: VG_ERR_UNAVAILABLE");
	VT_EQ_STR(code_of(&res), "git_fetch_failed", "code git_fetch_failed");
	VT_OK(strstr(res.message, "archive broke") != NULL, "with git's own words");
	VT_EQ_INT(tmp_entries(), 0, "nothing left");
	vg_git_result_clear(&res);

	/* Hooks planted in the fetching repository right after init (as a
	 * template or a hostile configuration would) never run.  (A fetch
	 * that updates no ref runs none anyway; this guards against a change
	 * that makes the fetch follow tags or write refs with hooks on.) */
	snprintf(planter, sizeof planter, "%s/git-plants", root);
	{
		char script[PATH_MAX * 2 + 512];

		snprintf(script, sizeof script, "#!/bin/sh\n"
		    "git \"$@\" || exit $?\n"
		    "case \" $* \" in *\" init \"*)\n"
		    "  for d in \"$@\"; do :; done\n"
		    "  mkdir -p \"$d/hooks\"\n"
		    "  for h in reference-transaction post-checkout pre-auto-gc; do\n"
		    "    printf '#!/bin/sh\\necho planted >> %s\\n' > \"$d/hooks/$h\"\n"
		    "    chmod +x \"$d/hooks/$h\"\n"
		    "  done;;\n"
		    "esac\n", marker);
		write_file(planter, script, 0755);
	}
	settings("1", planter, "60");
	VT_EQ_INT(vg_git_fetch(blob, src_url, NULL, NULL, &res), VG_OK,
	    "fetch with hooks planted in the fetching repository");
	VT_OK(strcmp(digest_of(&res), d->main) == 0, "same tree");
	VT_OK(access(marker, F_OK) != 0, "no hook ran, neither the source's nor planted ones");
	vg_git_result_clear(&res);

	/* What git is given: the environment and the settings. */
	snprintf(spy, sizeof spy, "%s/git-spy", root);
	snprintf(envdump, sizeof envdump, "%s/git-env", root);
	{
		char script[PATH_MAX * 3 + 256];

		snprintf(script, sizeof script, "#!/bin/sh\n"
		    "case \" $* \" in *\" fetch \"*) env | sort > '%s'; echo \"$*\" >> '%s';; esac\n"
		    "exec git \"$@\"\n", envdump, envdump);
		write_file(spy, script, 0755);
	}
	setenv("VEGA_AUTH_SECRET", "do-not-pass-this-secret-to-git-0123456789", 1);
	setenv("GIT_DIR", "/nonexistent", 1);
	settings("1", spy, "60");
	VT_EQ_INT(vg_git_fetch(blob, src_url, NULL, NULL, &res), VG_OK, "fetch through the spy");
	unsetenv("GIT_DIR");
	unsetenv("VEGA_AUTH_SECRET");
	f = fopen(envdump, "r");
	n = f ? fread(text, 1, sizeof text - 1, f) : 0;
	text[n] = '\0';
	if (f)
		fclose(f);
	VT_OK(strstr(text, "GIT_CONFIG_GLOBAL=/dev/null\nGIT_CONFIG_NOSYSTEM=1\n"
	    "GIT_TERMINAL_PROMPT=0\nHOME=") != NULL, "git's environment: the git settings and HOME");
	VT_OK(strstr(text, "\nLANG=C\nPATH=") != NULL, "LANG=C and PATH");
	VT_OK(!strstr(text, "VEGA_") && !strstr(text, "GIT_DIR"), "nothing else of ours");
	VT_OK(strstr(text, "core.hooksPath=/dev/null") && strstr(text, "protocol.allow=never") &&
	    strstr(text, "protocol.file.allow=always"), "hooks off, transports restricted");
	VT_OK(strstr(text, "--depth 1 --no-tags --no-recurse-submodules") != NULL,
	    "shallow, no tags, no submodules");
	vg_git_result_clear(&res);

	settings("1", "/nonexistent/git", "60");
	VT_EQ_INT(vg_git_fetch(blob, src_url, NULL, NULL, &res), VG_ERR_UNAVAILABLE,
	    "a git program that does not exist");
	VT_EQ_STR(code_of(&res), "git_unavailable", "code git_unavailable");
	VT_EQ_INT(tmp_entries(), 0, "nothing left");
	vg_git_result_clear(&res);
}

int
main(void)
{
	struct tree_digests d;
	char blobdir[PATH_MAX + 16], home[PATH_MAX + 16];

	if (!mkdtemp(root))
		return 1;
	snprintf(datadir, sizeof datadir, "%s/data", root);
	snprintf(tmpdir, sizeof tmpdir, "%s/tmp", datadir);
	snprintf(src, sizeof src, "%s/src", root);
	snprintf(src_url, sizeof src_url, "file://%s", src);
	snprintf(marker, sizeof marker, "%s/hook-ran", root);
	snprintf(blobdir, sizeof blobdir, "%s/blobs", datadir);
	snprintf(home, sizeof home, "%s/home", root);
	mkdir(datadir, 0700);
	mkdir(tmpdir, 0700);
	mkdir(home, 0700);
	/* The test's own git commands: no configuration of the machine. */
	setenv("HOME", home, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
	setenv("VEGA_DATA_DIR", datadir, 1);
	settings("1", "git", "120");
	if (vg_blob_open_local(blobdir, &blob) != VG_OK)
		return 1;

	test_url_policy();
	test_ref_policy();
	test_redaction();
	memset(&d, 0, sizeof d);
	VT_EQ_INT(make_source(&d), 0, "source repository made with the git CLI");
	test_fetches(&d);
	test_failures();
	test_credentials_never_shown();
	test_fake_git(&d);
	VT_OK(access(marker, F_OK) != 0, "no hook of the source repository ever ran");

	vg_blob_free(blob);
	vg_fs_remove_tree(root);
	return vt_done();
}
