/*
 * findings-fill - put one completed scan with COUNT findings into the
 * store, for bench/findings.sh (the repository's findings list under
 * load).  It goes through the store interface the way the runner does:
 * snapshot row, scan (queued), claim, start, one vg_store_finding_upsert
 * per finding under the scan's lease, then finish (completed), so the
 * repository's baseline is that scan.
 *
 *   findings-fill REPOSITORY_ID USER_ID COUNT [PROCESSES]
 *
 * The settings come from the environment (VEGA_PERSISTENCE_BACKEND,
 * VEGA_DATA_DIR, VEGA_DATABASE_URL ...).  PROCESSES (default 1, at most
 * 16) children each open their own store and upsert every PROCESSES-th
 * finding under the same lease; a Postgres upsert is a round trip and a
 * transaction, so a few in parallel fill faster.
 *
 * The findings are made up but shaped like an engine's: a table of rules
 * (title, CWE ids, category, severity, confidence) drawn with weights
 * (most findings medium or low, a few critical), about 700 files of
 * several languages with more findings in some than in others, lines up
 * to 2,400, a line of evidence, and description, exploit scenario and
 * recommendation texts of the lengths an engine writes.  The sequence is
 * seeded: every run writes the same findings (the fingerprints too).
 *
 * Prints "SCAN_ID SECONDS" (the upserts' wall time) on stdout.  Exit
 * status 0 when every upsert and the finish succeeded, 1 otherwise.
 */
#include "config.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <jansson.h>
#include "core/id.h"
#include "core/settings.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "store/store.h"

#define ME "findings-fill"
#define MAX_PROCESSES 16
#define TEXT_MAX 2048

/* A rule of the made-up engine; weight is out of the table's total. */
struct rule {
	const char *id, *title, *category, *severity, *confidence;
	int cwe[2];
	int weight;
	const char *evidence;       /* one line of code */
	const char *why;            /* the description's core */
	const char *fix;            /* the recommendation */
};

static const struct rule rules[] = {
	{"sql-injection", "SQL query built from request data", "injection", "critical", "high",
	    {89, 0}, 2, "db.execute(\"SELECT * FROM orders WHERE id = \" + req.params.id)",
	    "A value taken from the request is concatenated into an SQL statement, so a "
	    "caller can change the statement's meaning.",
	    "Pass the value as a bound parameter of a prepared statement."},
	{"command-injection", "Shell command built from user input", "injection", "critical",
	    "medium", {78, 0}, 1, "os.system(\"convert \" + upload.filename + \" out.png\")",
	    "A file name chosen by the user reaches a shell command line unquoted.",
	    "Run the program without a shell, passing arguments as a list."},
	{"ssrf", "Server-side request to a user-supplied URL", "ssrf", "high", "medium",
	    {918, 0}, 4, "resp = http.get(params[\"callback_url\"], timeout=5)",
	    "The service fetches a URL taken from the request without restricting its host, "
	    "so internal addresses are reachable.",
	    "Allow only known hosts and refuse private, loopback and link-local addresses."},
	{"path-traversal", "File path from request joined without normalisation", "path",
	    "high", "high", {22, 73}, 5, "fs.readFile(path.join(BASE, req.query.name), cb)",
	    "A request parameter becomes part of a file path; '..' segments leave the base "
	    "directory.",
	    "Resolve the path and check that it stays under the base directory."},
	{"xss-reflected", "Request data written into HTML unescaped", "xss", "high", "medium",
	    {79, 0}, 5, "out.write(\"<p>Results for \" + request.getParameter(\"q\") + \"</p>\");",
	    "A query parameter is written into the page without HTML escaping.",
	    "Escape on output with the template engine's auto-escaping."},
	{"deserialization", "Untrusted data deserialized", "deserialization", "high", "medium",
	    {502, 0}, 2, "obj = pickle.loads(base64.b64decode(cookie))",
	    "Data from a cookie is deserialized with a format that can run code.",
	    "Use a data-only format such as JSON and validate it against a schema."},
	{"hardcoded-secret", "Credential in source code", "secrets", "medium", "high",
	    {798, 259}, 8, "const API_TOKEN = \"sk_live_51Hx...redacted...\";",
	    "A credential is committed with the code and readable by anyone with the "
	    "repository.",
	    "Load it from the environment or a secret store and rotate the exposed value."},
	{"weak-hash", "Password hashed with a fast hash", "crypto", "medium", "high",
	    {916, 328}, 6, "digest = hashlib.md5(password.encode()).hexdigest()",
	    "Passwords are hashed with a fast general-purpose hash, which is cheap to brute "
	    "force.",
	    "Use a memory-hard password hash (scrypt or Argon2) with a per-user salt."},
	{"open-redirect", "Redirect to a URL taken from the request", "redirect", "medium",
	    "medium", {601, 0}, 6, "return redirect(request.args.get(\"next\"))",
	    "The redirect target comes from the request unchecked.",
	    "Redirect only to relative paths or to an allow-list of hosts."},
	{"missing-authz", "Object fetched by id without an ownership check", "authz", "medium",
	    "low", {639, 862}, 9, "invoice = Invoice.find(params[:id])",
	    "The handler loads a record by the id in the URL and never checks that it belongs "
	    "to the caller.",
	    "Scope the query to the current user's records."},
	{"xxe", "XML parser with external entities enabled", "xxe", "medium", "medium",
	    {611, 0}, 3, "DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();",
	    "The XML parser resolves external entities, so a document can read local files.",
	    "Disable DTDs and external entities on the parser factory."},
	{"insecure-random", "Token made with a non-cryptographic generator", "crypto", "low",
	    "high", {338, 0}, 10, "token = str(random.randint(100000, 999999))",
	    "A security token comes from a predictable pseudo-random generator.",
	    "Use the platform's cryptographic generator (secrets, getrandom)."},
	{"verbose-error", "Stack trace returned to the client", "info-leak", "low", "medium",
	    {209, 0}, 11, "res.status(500).send(err.stack)",
	    "An internal error's stack trace is sent in the response body.",
	    "Log the detail and answer a generic message with a request id."},
	{"cookie-flags", "Session cookie without Secure or HttpOnly", "session", "low", "high",
	    {614, 1004}, 9, "res.cookie(\"sid\", session.id, { maxAge: 86400000 })",
	    "The session cookie is readable by scripts and sent over plain HTTP.",
	    "Set Secure, HttpOnly and SameSite on the session cookie."},
	{"tls-verify-off", "TLS certificate verification disabled", "crypto", "medium", "high",
	    {295, 0}, 3, "requests.get(url, verify=False)",
	    "Certificate checks are off, so a network attacker can impersonate the server.",
	    "Keep verification on and pin a CA bundle where needed."},
	{"debug-enabled", "Debug mode enabled in configuration", "config", "info", "medium",
	    {489, 0}, 8, "DEBUG = True",
	    "The application is configured with debug features on.",
	    "Turn debug off outside development."},
	{"todo-security", "Security TODO left in code", "hygiene", "info", "low", {0, 0}, 8,
	    "// TODO: check permissions here before release",
	    "A comment says a security check is still missing.",
	    "Implement the check or track it as an issue."},
};

static const char *const dirs[] = {
	"src/api", "src/api/handlers", "src/auth", "src/billing", "src/db", "src/jobs",
	"src/web/views", "src/web/static/js", "lib/util", "lib/http", "services/payments",
	"services/notifications", "internal/storage", "internal/config", "cmd/server",
	"tools/migrate", "app/controllers", "app/models", "config", "scripts",
};
static const char *const stems[] = {
	"users", "orders", "invoices", "session", "login", "upload", "export", "search",
	"webhook", "admin", "report", "settings", "token", "cache", "client", "router",
	"middleware", "queue", "mailer", "files", "profile", "billing", "audit", "crypto",
	"import", "backup", "health", "metrics", "templates", "forms", "accounts", "payment",
	"oauth", "sso", "schema",
};
static const char *const exts[] = {".py", ".js", ".ts", ".go", ".java", ".rb", ".php", ".c"};

/* A deterministic 64-bit mix of x (for every draw: finding i, draw k). */
static uint64_t
mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t
draw(int64_t i, int k)
{
	return mix((uint64_t)i * 64 + (uint64_t)k);
}

/* The rule of finding i, by weight. */
static const struct rule *
pick_rule(int64_t i)
{
	int total = 0, r;
	size_t k;

	for (k = 0; k < sizeof rules / sizeof rules[0]; k++)
		total += rules[k].weight;
	r = (int)(draw(i, 0) % (uint64_t)total);
	for (k = 0; r >= rules[k].weight; k++)
		r -= rules[k].weight;
	return &rules[k];
}

/* The data of finding i (a new object) and its fingerprint into fp. */
static json_t *
finding_data(int64_t i, char fp[129], const char **severity)
{
	const struct rule *r = pick_rule(i);
	size_t nd = sizeof dirs / sizeof dirs[0], ns = sizeof stems / sizeof stems[0];
	/* the product of two draws: a few files hold many findings */
	uint64_t f = (draw(i, 1) % 1000) * (draw(i, 2) % 1000) % (nd * ns);
	char path[256], desc[TEXT_MAX], scen[TEXT_MAX], rec[TEXT_MAX];
	int64_t line = 1 + (int64_t)(draw(i, 3) % 2400);
	json_t *cwe = json_array(), *d;
	int k;

	snprintf(path, sizeof path, "%s/%s%s", dirs[f % nd], stems[f / nd % ns],
	    exts[(f / nd + f % nd) % (sizeof exts / sizeof exts[0])]);
	snprintf(fp, 129, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64,
	    mix((uint64_t)i ^ 0xf1f1), mix((uint64_t)i ^ 0xf2f2), mix((uint64_t)i ^ 0xf3f3),
	    mix((uint64_t)i ^ 0xf4f4));
	snprintf(desc, sizeof desc, "%s In %s at line %" PRId64 " the value reaches the sink "
	    "through %d intermediate call%s; no validation or encoding was found on that "
	    "path. The code is reachable from a public route, so the issue is exploitable "
	    "without special privileges unless a proxy in front of the service filters the "
	    "input, which the repository does not show.", r->why, path, line,
	    (int)(draw(i, 4) % 4), draw(i, 4) % 4 == 1 ? "" : "s");
	snprintf(scen, sizeof scen, "An unauthenticated caller sends a crafted request to the "
	    "route handled in %s; the response or a side effect shows that the input was "
	    "interpreted rather than treated as data, and the caller repeats it to reach other "
	    "records or hosts.", path);
	snprintf(rec, sizeof rec, "%s Add a regression test with a hostile input for this "
	    "route.", r->fix);
	for (k = 0; k < 2; k++)
		if (r->cwe[k])
			json_array_append_new(cwe, json_integer(r->cwe[k]));
	*severity = r->severity;
	d = json_pack("{s:s, s:s, s:o, s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
	    "s:n}", "title", r->title, "severity", r->severity, "cwe_ids", cwe,
	    "category", r->category, "file_path", path, "line_start", (json_int_t)line,
	    "line_end", (json_int_t)(line + (int64_t)(draw(i, 5) % 4)), "evidence", r->evidence,
	    "description", desc, "exploit_scenario", scen, "recommendation", rec,
	    "confidence", r->confidence, "engine", "rules", "rule_id", r->id, "model");
	return d;
}

static void __attribute__((noreturn))
die(const char *what, enum vg_err err)
{
	fprintf(stderr, ME ": %s: %s\n", what, vg_err_code(err));
	exit(1);
}

/* A snapshot row for the scan to name (no blob behind it: nothing reads
 * the source). */
static void
make_snapshot(struct vg_store *s, const char *repo, const char *user, char out[VG_UUID_LEN + 1])
{
	struct vg_snapshot sn;
	enum vg_err err;

	memset(&sn, 0, sizeof sn);
	vg_str_copy(sn.repository_id, sizeof sn.repository_id, repo);
	vg_str_copy(sn.created_by, sizeof sn.created_by, user);
	snprintf(sn.digest, sizeof sn.digest, "%016" PRIx64 "%016" PRIx64 "%032d",
	    mix((uint64_t)vg_time_now_us()), mix((uint64_t)getpid()), 0);
	snprintf(sn.storage_key, sizeof sn.storage_key, "snapshots/%s.tar", sn.digest);
	snprintf(sn.manifest_key, sizeof sn.manifest_key, "snapshots/%s.manifest.json",
	    sn.digest);
	vg_str_copy(sn.format, sizeof sn.format, "tar.gz");
	sn.file_count = 700;
	sn.total_bytes = 12 << 20;
	vg_str_copy(sn.languages, sizeof sn.languages, "{\"python\":120,\"javascript\":200}");
	if ((err = vg_store_snapshot_create(s, &sn, NULL)) != VG_OK)
		die("snapshot", err);
	vg_str_copy(out, VG_UUID_LEN + 1, sn.id);
}

/* A child: upsert findings k, k + n, k + 2n, ... below count. */
static void __attribute__((noreturn))
filler(const struct vg_lease *l, int64_t count, int k, int n)
{
	struct vg_store *s = NULL;
	struct vg_finding_row row;
	const char *sev;
	enum vg_err err;
	int64_t i;

	if ((err = vg_store_open(&s)) != VG_OK) {
		fprintf(stderr, ME ": open: %s\n", vg_err_code(err));
		_exit(1);
	}
	for (i = k; i < count; i += n) {
		memset(&row, 0, sizeof row);
		vg_str_copy(row.scan_id, sizeof row.scan_id, l->scan_id);
		if (!(row.data = finding_data(i, row.fingerprint, &sev))) {
			fputs(ME ": out of memory\n", stderr);
			_exit(1);
		}
		vg_str_copy(row.severity, sizeof row.severity, sev);
		err = vg_store_finding_upsert(s, l, &row, vg_time_now_us(), NULL);
		vg_finding_row_clear(&row);
		if (err != VG_OK) {
			fprintf(stderr, ME ": upsert %" PRId64 ": %s\n", i, vg_err_code(err));
			_exit(1);
		}
	}
	vg_store_free(s);
	_exit(0);
}

int
main(int argc, char **argv)
{
	struct vg_store *s = NULL;
	struct vg_scan sc;
	struct vg_lease l;
	struct vg_scan_finish fin;
	char snap[VG_UUID_LEN + 1], worker[VG_UUID_LEN + 1], lease[64], msg[256];
	int64_t count, procs = 1, t0, t1;
	pid_t pids[MAX_PROCESSES];
	int k, st, bad = 0;
	enum vg_err err;

	if (argc < 4 || argc > 5 || !vg_uuid_valid(argv[1]) || !vg_uuid_valid(argv[2]) ||
	    vg_str_to_i64(argv[3], 1, 10000000, &count) != VG_OK ||
	    (argc == 5 && vg_str_to_i64(argv[4], 1, MAX_PROCESSES, &procs) != VG_OK)) {
		fputs("usage: " ME " REPOSITORY_ID USER_ID COUNT [PROCESSES 1..16]\n", stderr);
		return 2;
	}
	if (vg_settings_load(msg, sizeof msg) != VG_OK) {
		fprintf(stderr, ME ": %s\n", msg);
		return 2;
	}
	if ((err = vg_store_open(&s)) != VG_OK)
		die("open", err);
	make_snapshot(s, argv[1], argv[2], snap);
	memset(&sc, 0, sizeof sc);
	vg_str_copy(sc.repository_id, sizeof sc.repository_id, argv[1]);
	vg_str_copy(sc.snapshot_id, sizeof sc.snapshot_id, snap);
	vg_str_copy(sc.created_by, sizeof sc.created_by, argv[2]);
	vg_str_copy(sc.engine, sizeof sc.engine, "rules");
	vg_str_copy(sc.options, sizeof sc.options, "{}");
	if ((err = vg_store_scan_create(s, &sc, 0)) != VG_OK)
		die("scan", err);
	if ((err = vg_uuid_new(worker)) != VG_OK)
		die("worker id", err);
	snprintf(lease, sizeof lease, "bench-fill-%016" PRIx64, mix((uint64_t)vg_time_now_us()));
	if ((err = vg_store_scan_claim(s, worker, sc.id, lease, vg_time_now_us(), &sc)) != VG_OK)
		die("claim", err);
	l.scan_id = sc.id;
	l.attempt = sc.attempt;
	l.lease_token = sc.lease_token;
	if ((err = vg_store_scan_start(s, &l, vg_time_now_us())) != VG_OK)
		die("start", err);
	/* no connection of this process is handed to a child */
	vg_store_free(s);
	s = NULL;
	fflush(NULL);
	t0 = vg_time_mono_us();
	for (k = 0; k < (int)procs; k++) {
		if ((pids[k] = fork()) < 0)
			die("fork", VG_ERR_IO);
		if (pids[k] == 0)
			filler(&l, count, k, (int)procs);
	}
	for (k = 0; k < (int)procs; k++)
		if (waitpid(pids[k], &st, 0) != pids[k] || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad = 1;
	t1 = vg_time_mono_us();
	if (bad) {
		fputs(ME ": a filler failed; the scan is left running\n", stderr);
		return 1;
	}
	if ((err = vg_store_open(&s)) != VG_OK)
		die("open", err);
	memset(&fin, 0, sizeof fin);
	fin.status = VG_SCAN_COMPLETED;
	fin.event_type = "scan_completed";
	fin.now_us = vg_time_now_us();
	if ((err = vg_store_scan_finish(s, &l, &fin)) != VG_OK)
		die("finish", err);
	printf("%s %.2f\n", sc.id, (double)(t1 - t0) / 1e6);
	vg_store_free(s);
	return 0;
}
