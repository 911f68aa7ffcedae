#!/usr/bin/env python3
"""score.py - score a SARIF report against a ground-truth CSV.

    bench/score.py REPORT.sarif EXPECTED.csv [--name TOOL] [--cwe-map FILE]

EXPECTED.csv has the columns file,cwe,vulnerable (true/false) and an
optional class column.  A file counts as reported for a row when the SARIF
has a result in that file tagged with the row's CWE (external/cwe/cwe-N in
the rule's tags or the result's properties); --any-cwe counts any result in
the file (for tools whose CWE tags are missing or differ).  Prints per-class
true-positive rate, false-positive rate and TPR-FPR, and their means (the
scoring of the OWASP Benchmark project).
"""
import argparse
import csv
import json
import re
import sys
from collections import defaultdict
from urllib.parse import unquote

CWE_RE = re.compile(r'cwe[-_/ ]?(\d+)', re.I)


def cwes_of(rule, result):
    found = set()
    for src in (rule or {}, result):
        props = src.get('properties', {}) if isinstance(src, dict) else {}
        for tag in props.get('tags', []) or []:
            for m in CWE_RE.finditer(str(tag)):
                found.add(int(m.group(1)))
        for c in props.get('cwe', []) or []:
            try:
                found.add(int(c))
            except (TypeError, ValueError):
                for m in CWE_RE.finditer(str(c)):
                    found.add(int(m.group(1)))
        for rel in (src.get('relationships') or []) if isinstance(src, dict) else []:
            tgt = rel.get('target', {})
            for m in CWE_RE.finditer(str(tgt.get('id', '')) + ' ' + str(tgt.get('toolComponent', {}).get('name', ''))):
                found.add(int(m.group(1)))
    return found


def norm_path(uri, strip):
    p = unquote(uri)
    if p.startswith('file://'):
        p = p[7:]
    for s in strip:
        if s and p.startswith(s):
            p = p[len(s):]
    return p.lstrip('./').lstrip('/')


def load_sarif(path, strip):
    with open(path, encoding='utf-8') as fh:
        log = json.load(fh)
    hits = defaultdict(set)       # file -> set of CWE ids
    for run in log.get('runs', []):
        rules = run.get('tool', {}).get('driver', {}).get('rules', []) or []
        byid = {r.get('id'): r for r in rules}
        for res in run.get('results', []) or []:
            rule = None
            if 'ruleIndex' in res and 0 <= res['ruleIndex'] < len(rules):
                rule = rules[res['ruleIndex']]
            elif res.get('ruleId') in byid:
                rule = byid[res.get('ruleId')]
            for loc in res.get('locations', []) or []:
                uri = loc.get('physicalLocation', {}).get('artifactLocation', {}).get('uri')
                if not uri:
                    continue
                f = norm_path(uri, strip)
                hits[f] |= cwes_of(rule, res) or {0}
    return hits


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('sarif')
    ap.add_argument('expected')
    ap.add_argument('--name', default='tool')
    ap.add_argument('--strip', action='append', default=[], help='path prefix to remove from SARIF URIs')
    ap.add_argument('--any-cwe', action='store_true', help='any result in the file counts')
    ap.add_argument('--only-classes', default='', help='comma list: score only these classes')
    ap.add_argument('--only-ext', default='', help='comma list of file suffixes (.c,.py): score only those rows')
    a = ap.parse_args()
    hits = load_sarif(a.sarif, a.strip)
    only = set(x for x in a.only_classes.split(',') if x)
    stats = defaultdict(lambda: [0, 0, 0, 0])   # tp fn fp tn
    with open(a.expected, newline='', encoding='utf-8') as fh:
        for row in csv.DictReader(fh):
            klass = row.get('class') or ('CWE-' + row['cwe'])
            if only and klass not in only:
                continue
            exts = tuple(x for x in a.only_ext.split(',') if x)
            if exts and not row['file'].endswith(exts):
                continue
            cwe = int(row['cwe'])
            vuln = row['vulnerable'].strip().lower() in ('true', '1', 'yes')
            got = hits.get(row['file'].lstrip('./'), set())
            reported = bool(got) if a.any_cwe else cwe in got
            s = stats[klass]
            if vuln:
                s[0 if reported else 1] += 1
            else:
                s[2 if reported else 3] += 1
    if not stats:
        print('no rows scored', file=sys.stderr)
        return 2
    print(f'{a.name}: {"class":<10} {"TPR":>6} {"FPR":>6} {"TPR-FPR":>8}   tp  fn  fp  tn')
    tprs, fprs = [], []
    for k in sorted(stats):
        tp, fn, fp, tn = stats[k]
        tpr = tp / (tp + fn) if tp + fn else 0.0
        fpr = fp / (fp + tn) if fp + tn else 0.0
        tprs.append(tpr)
        fprs.append(fpr)
        print(f'{a.name}: {k:<10} {tpr:6.2f} {fpr:6.2f} {tpr - fpr:8.2f}  {tp:3d} {fn:3d} {fp:3d} {tn:3d}')
    n = len(tprs)
    print(f'{a.name}: {"MEAN":<10} {sum(tprs) / n:6.2f} {sum(fprs) / n:6.2f} {(sum(tprs) - sum(fprs)) / n:8.2f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
