#!/usr/bin/env python3
"""sse-watch.py - follow a server-sent event stream as a client would, and
say how late each event arrived.

    sse-watch.py URL TOKEN [--last-event-id ID] [--trigger URL BODY]
                 [--until TYPE] [--timeout S]

Opens URL with Accept: text/event-stream; once the response headers are
in, POSTs BODY (JSON) to the trigger URL (e.g. start a scan), then reads
events until one of type TYPE arrived, the stream ends, or S seconds pass.
Prints one JSON object: the status, the response headers, and each event
(id, type, its data's seq, and lag: arrival time minus the event's
created_at, in seconds).  Standard library only.
"""
import argparse
import datetime
import http.client
import json
import sys
import time
import urllib.parse
import urllib.request


def created(data):
    at = data.get("created_at") or ""
    try:
        return datetime.datetime.strptime(at.replace("Z", "+0000"),
                                          "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
    except ValueError:
        try:
            return datetime.datetime.strptime(at.replace("Z", "+0000"),
                                              "%Y-%m-%dT%H:%M:%S%z").timestamp()
        except ValueError:
            return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("token")
    ap.add_argument("--last-event-id")
    ap.add_argument("--trigger", nargs=2)
    ap.add_argument("--until")
    ap.add_argument("--timeout", type=float, default=30)
    a = ap.parse_args()

    u = urllib.parse.urlsplit(a.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=a.timeout)
    headers = {"Authorization": "Bearer " + a.token, "Accept": "text/event-stream"}
    if a.last_event_id:
        headers["Last-Event-ID"] = a.last_event_id
    conn.request("GET", u.path + ("?" + u.query if u.query else ""), headers=headers)
    resp = conn.getresponse()
    out = {"status": resp.status, "headers": {k.lower(): v for k, v in resp.getheaders()},
           "events": [], "comments": 0, "ended": False, "trigger": None}
    if a.trigger:
        req = urllib.request.Request(a.trigger[0], data=a.trigger[1].encode(), method="POST",
                                     headers={"Authorization": "Bearer " + a.token,
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=20) as r:
                out["trigger"] = {"status": r.status, "body": json.loads(r.read() or b"null")}
        except urllib.error.HTTPError as e:
            out["trigger"] = {"status": e.code, "body": e.read().decode(errors="replace")}
    deadline = time.time() + a.timeout
    ev = {}
    while time.time() < deadline:
        try:
            line = resp.readline()
        except Exception:
            break
        if not line:
            out["ended"] = True
            break
        line = line.decode().rstrip("\r\n")
        if line.startswith(":"):
            out["comments"] += 1
        elif line == "":
            if "data" in ev:
                data = json.loads(ev["data"])
                at = created(data)
                out["events"].append({"id": ev.get("id"), "type": ev.get("event"),
                                      "seq": data.get("seq"), "scan_id": data.get("scan_id"),
                                      "lag": (time.time() - at) if at else None})
                if a.until and ev.get("event") == a.until:
                    break
            ev = {}
        elif ":" in line:
            k, v = line.split(":", 1)
            ev[k] = v[1:] if v.startswith(" ") else v
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(main())
