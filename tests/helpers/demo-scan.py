#!/usr/bin/env python3
"""demo-scan.py - the end of `./vega-dev up`: Vega doing its job.

Logs in, creates (or reuses) the project "Sample: notes-service", uploads
the bundled sample application (tests/fixtures/sample-app) as a tar.gz
snapshot, writes a threat profile, starts a scan, follows its live events
until it ends, and prints the findings and where the SARIF report is.

    demo-scan.py BASE_URL CREDENTIALS_FILE SAMPLE_DIR

CREDENTIALS_FILE holds "email: ..." and "password: ..." lines (the file
vega-maintenance bootstrap-admin writes).  Exit status 0 when the scan
completed with findings, 1 otherwise.  Standard library only.
"""
import io
import json
import os
import sys
import tarfile
import time
import urllib.error
import urllib.request

PROJECT = "Sample: notes-service"
PROFILE = {
    "name": "notes-service default",
    "description": "A note-taking web service: users keep private notes, "
                   "administrators run maintenance endpoints.",
    "assets": ["users' notes", "session secret", "note database"],
    "trust_boundaries": ["the public HTTP API", "the admin endpoints"],
    "entry_points": ["/notes/*", "/export/*", "/admin/*"],
    "focus_categories": ["injection", "CWE-502", "secrets"],
    "out_of_scope_paths": ["**/node_modules/**"],
    "min_severity": "low",
}
FINISHED = ("completed", "failed", "cancelled")


class Api:
    def __init__(self, base):
        self.base = base.rstrip("/")
        self.token = None

    def call(self, method, path, body=None, ctype="application/json", ok=(200, 201, 202)):
        data = body
        if body is not None and ctype == "application/json":
            data = json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", ctype)
        if self.token:
            req.add_header("Authorization", "Bearer " + self.token)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        doc = json.loads(raw) if raw[:1] in (b"{", b"[") else raw
        if status not in ok:
            err = doc.get("error", {}) if isinstance(doc, dict) else {}
            raise SystemExit("demo: %s %s answered %d %s: %s" % (
                method, path, status, err.get("code", ""), err.get("message", raw[:200])))
        return status, doc


def say(text):
    print("\n\033[1m" + text + "\033[0m", flush=True)


def credentials(path):
    fields = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.partition(": ")
            fields[key.strip()] = value.strip()
    return fields["email"], fields["password"]


def sample_tarball(root):
    """The sample tree as a gzip'd tar, paths relative to its top."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                full = os.path.join(dirpath, name)
                tar.add(full, arcname=os.path.relpath(full, root), recursive=False)
    return buf.getvalue()


def find_or_create_project(api):
    _, doc = api.call("GET", "/v1/projects?limit=100")
    for p in doc.get("items", []):
        if p.get("name") == PROJECT:
            return p["id"]
    _, p = api.call("POST", "/v1/projects", {"name": PROJECT})
    return p["id"]


def find_or_create_repository(api, project_id):
    _, doc = api.call("GET", "/v1/projects/%s/repositories?limit=100" % project_id)
    for r in doc.get("items", []):
        if r.get("name") == "notes-service" and r.get("source_type") == "upload":
            return r["id"]
    _, r = api.call("POST", "/v1/projects/%s/repositories" % project_id,
                    {"name": "notes-service", "source_type": "upload"})
    return r["id"]


def find_or_create_profile(api, repo_id):
    _, doc = api.call("GET", "/v1/repositories/%s/threat-profiles?limit=100" % repo_id)
    for p in doc.get("items", []):
        if p.get("name") == PROFILE["name"]:
            return p
    _, p = api.call("POST", "/v1/repositories/%s/threat-profiles" % repo_id, PROFILE)
    return p


def event_detail(kind, p):
    """One line that says what an event reports."""
    if kind == "finding_updated":
        return "%s %s" % (p.get("severity", ""), p.get("title", ""))
    if kind == "scan_progress":
        where = p.get("component")
        return "%s %s%% (%s of %s files)%s" % (
            p.get("step", ""), p.get("percent", 0), p.get("files_done", 0),
            p.get("files_total", 0), " in " + where if where else "")
    if kind == "scan_started":
        return "attempt %s, engine %s, runner %s" % (
            p.get("attempt"), p.get("engine"), p.get("runner"))
    if kind == "scan_completed":
        return "%s findings, %s files in %s ms" % (
            p.get("findings"), p.get("files_scanned"), p.get("duration_ms"))
    error = p.get("error")
    return p.get("message") or (error.get("message", "") if isinstance(error, dict) else "")


def follow_events(api, scan_id, deadline):
    """Print events as they arrive (long-polling); the scan when it ends."""
    after = 0
    while time.time() < deadline:
        _, doc = api.call("GET", "/v1/scans/%s/events?after=%d&wait=10" % (scan_id, after))
        for ev in doc.get("items", []):
            after = ev["seq"]
            payload = ev.get("payload") or {}
            detail = event_detail(ev["type"], payload)
            print("  #%-3d %-16s %s" % (ev["seq"], ev["type"], str(detail)[:90]), flush=True)
        _, scan = api.call("GET", "/v1/scans/%s" % scan_id)
        if scan["status"] in FINISHED and not doc.get("items"):
            return scan
    raise SystemExit("demo: the scan did not finish in time")


def main(argv):
    if len(argv) != 4:
        raise SystemExit(__doc__)
    base, creds, sample = argv[1:]
    api = Api(base)
    email, password = credentials(creds)
    _, tok = api.call("POST", "/v1/auth/login", {"email": email, "password": password})
    api.token = tok["access_token"]

    say("A project and an upload repository for the sample application")
    project_id = find_or_create_project(api)
    repo_id = find_or_create_repository(api, project_id)
    print("  project %s, repository %s" % (project_id, repo_id))

    say("Upload %s as a tar.gz snapshot" % os.path.basename(os.path.abspath(sample)))
    status, snap = api.call("POST", "/v1/repositories/%s/snapshots" % repo_id,
                            sample_tarball(sample), ctype="application/gzip")
    print("  %d snapshot %s: %d files, %d bytes, languages %s%s" % (
        status, snap["id"], snap.get("file_count", 0), snap.get("total_bytes", 0),
        json.dumps(snap.get("languages", {})),
        " (the same tree as before: same snapshot)" if status == 200 else ""))

    say("A threat profile")
    prof = find_or_create_profile(api, repo_id)
    print("  profile %s version %s" % (prof["id"], prof.get("version")))

    say("Start a scan and follow its live events")
    _, scan = api.call("POST", "/v1/repositories/%s/scans" % repo_id,
                       {"snapshot_id": snap["id"], "threat_profile_id": prof["id"]})
    print("  202 scan %s %s" % (scan["id"], scan["status"]))
    scan = follow_events(api, scan["id"], time.time() + 300)

    counts = scan.get("counts", {})
    say("Scan %s: %s, %d findings (%s)" % (
        scan["id"], scan["status"], scan.get("findings_count", 0),
        ", ".join("%d %s" % (counts.get(s, 0), s)
                  for s in ("critical", "high", "medium", "low", "info"))))
    _, found = api.call("GET", "/v1/scans/%s/findings?limit=50" % scan["id"])
    for f in found.get("items", []):
        cwe = ",".join("CWE-%s" % c for c in f.get("cwe_ids", []))
        print("  %-8s %-28s %s [%s]" % (f["severity"], "%s:%s" % (
            f["file_path"], f.get("line_start") or ""), f["title"], cwe))
    print("\n  SARIF 2.1.0: %s/v1/scans/%s/report.sarif (with a bearer token)" % (
        api.base, scan["id"]))
    return 0 if scan["status"] == "completed" and found.get("items") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
