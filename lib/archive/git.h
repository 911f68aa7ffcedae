/*
 * git.h - a snapshot from a git repository: URL and ref policy, credential
 * redaction, and the fetch itself.
 *
 * URLS accepted (vg_git_url_check), printable ASCII only, at most
 * VG_STORE_GIT_URL_MAX bytes:
 *   https://[user[:password]@]host[:port]/path
 *   ssh://[user@]host[:port]/path
 *   file:///absolute/path      only when VEGA_ALLOW_FILE_GIT_URLS is set
 * Everything else is refused with a reason: other schemes (http://,
 * git://, ftp://), transport helpers ("ext::...", "fd::..."), local paths,
 * the scp-like "user@host:path" form (write ssh://user@host/path
 * instead: the short form is where host names that ssh reads as options
 * used to slip through), a host, user or URL starting with '-', a
 * password in an ssh:// URL, spaces, control characters and their %-escapes.
 *
 * REFS (vg_git_ref_check): empty for the remote's default branch (HEAD),
 * a branch or tag name ("main", "v1.2", "refs/heads/x"), or a full commit
 * id (40 or 64 hex digits), at most VG_STORE_GIT_REF_MAX bytes, following
 * git's ref-name rules (no "..", no component starting with '.' or ending
 * in ".lock", no control characters, space, ~ ^ : ? * [ \, no "@{", no
 * "//", no leading or trailing '/', not ending in '.', not "@"), and never
 * starting with '-' or '+'.
 *
 * THE FETCH (vg_git_fetch) runs git as a supervised child
 * (core/proc.h) in a private directory $VEGA_DATA_DIR/tmp/git-XXXXXX
 * (0700, also git's HOME), removed on every path out:
 *   git init --bare --template= repo
 *   git fetch --depth 1 --no-tags --no-recurse-submodules -- URL REF|HEAD
 *   git rev-parse --verify FETCH_HEAD^{commit}
 *   git archive --format=tar FETCH_HEAD   streamed into vg_archive_ingest
 * with VEGA_GIT_PROGRAM, one deadline of VEGA_GIT_TIMEOUT_SECONDS for all
 * of it, RLIMIT_FSIZE at the source limit (a huge pack cannot fill the
 * disk), the environment PATH, HOME, LANG=C, GIT_TERMINAL_PROMPT=0,
 * GIT_CONFIG_NOSYSTEM=1, GIT_CONFIG_GLOBAL=/dev/null and nothing else,
 * and on every command: hooks off (core.hooksPath=/dev/null), only the
 * https and ssh transports (plus file when allowed), no submodules, no
 * credential helper, no automatic gc.  The tree is archived as committed:
 * the repository's own .gitattributes cannot drop files (export-ignore),
 * rewrite them (export-subst, ident) or convert line ends.
 *
 * Credentials: a URL's user:password@ part reaches git and nobody else.
 * Every message and log line shows URLs through vg_git_redact, git's
 * stderr included.  (Like any command line, git's arguments are visible
 * to local users of the machine while it runs.)
 */
#ifndef VG_ARCHIVE_GIT_H
#define VG_ARCHIVE_GIT_H

#include <stddef.h>
#include "archive/archive.h"
#include "blob/blob.h"
#include "core/err.h"

#define VG_GIT_COMMIT_MAX 65        /* 40 or 64 hex digits and a NUL */
#define VG_GIT_CODE_MAX 64          /* = VG_STORE_ERROR_CODE_MAX */
#define VG_GIT_MESSAGE_MAX 2001     /* = VG_STORE_ERROR_MESSAGE_MAX + 1 */

/*
 * Whether url may be fetched (see above).  VG_OK, or VG_ERR_INVALID with
 * *reason (may be NULL) pointing to a static English sentence saying why.
 */
enum vg_err vg_git_url_check(const char *url, const char **reason);

/* Whether ref may be fetched ("" and NULL are HEAD).  VG_OK, or
 * VG_ERR_INVALID with *reason (may be NULL) as above. */
enum vg_err vg_git_ref_check(const char *ref, const char **reason);

/*
 * Copy text into out (outlen bytes, always NUL-terminated, cut short when
 * it does not fit) with the user information of every URL in it
 * replaced by three asterisks: the "user:secret" of
 * "https://user:secret@host/x" becomes "***".
 * Works on any text (a URL, a message, git's stderr).  To be safe
 * rather than exact, everything from "://" up to the last '@' of that
 * word goes.
 */
void vg_git_redact(const char *text, char *out, size_t outlen);

/*
 * What a fetch produced.  On failure code is one of
 *   git_url_refused    the URL breaks the policy
 *   git_ref_invalid    the ref breaks the rules
 *   git_ref_not_found  the remote has no such branch, tag or commit
 *   git_fetch_failed   git failed (unreachable host, no such repository,
 *                      authentication, a broken archive stream, ...)
 *   git_timeout        VEGA_GIT_TIMEOUT_SECONDS ran out
 *   git_unavailable    the git program could not be started
 *   source_too_large   the fetched pack grew past VEGA_MAX_SOURCE_BYTES
 *   internal           temporary directory or storage failed
 *   or the archive's refusal reason (too_many_entries, file_too_large,
 *   uncompressed_too_large, link_outside_tree, empty_archive, ...: see
 *   archive.h), and message is an English sentence for the repository's
 *   ingest_error: redacted URL, ref, and the (redacted) end of git's
 *   stderr.  Clear with vg_git_result_clear.
 */
struct vg_git_result {
	char commit[VG_GIT_COMMIT_MAX];          /* the commit archived */
	char code[VG_GIT_CODE_MAX];              /* "" on success */
	char message[VG_GIT_MESSAGE_MAX];        /* "" on success */
	struct vg_archive_result archive;        /* the ingest: digest, keys, counts */
};

void vg_git_result_clear(struct vg_git_result *res);

/*
 * Fetch ref (NULL or "": the default branch) of url and ingest its tree
 * into blob as a snapshot, with lim (NULL: the settings).  res is always
 * filled (cleared first).  Returns VG_OK (res->commit, res->archive.digest
 * and keys set), or with res->code and res->message:
 *   VG_ERR_INVALID           git_url_refused, git_ref_invalid
 *   VG_ERR_NOT_FOUND         git_ref_not_found
 *   VG_ERR_UNAVAILABLE       git_fetch_failed, git_timeout, git_unavailable
 *   VG_ERR_INVALID_ARCHIVE,  the archive's reasons
 *   VG_ERR_TOO_LARGE
 *   VG_ERR_IO, VG_ERR_NOMEM, VG_ERR_INTERNAL   internal
 * Nothing is left under $VEGA_DATA_DIR/tmp, whatever the outcome.
 */
enum vg_err vg_git_fetch(struct vg_blob *blob, const char *url, const char *ref,
    const struct vg_archive_limits *lim, struct vg_git_result *res);

#endif
