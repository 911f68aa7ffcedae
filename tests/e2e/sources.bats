#!/usr/bin/env bats
# Projects, members, repositories, snapshots and threat profiles through
# the web server (issue 4): archive uploads in every format and every kind
# of hostile archive, built fresh by tests/fixtures/archives/make-archive.py;
# Content-Length lies and the source limit; concurrent uploads; a git
# repository made here and fetched over file://; roles, quotas and
# GET /v1/ops/limits.  For every refused upload: the status, the code,
# details.reason, and that nothing was left behind (no temporary file, no
# blob, no snapshot row or record).
#
# Run by sources-nginx-json.e2e and sources-nginx-postgres.e2e, which lower
# the archive limits (so the hostile archives stay small), the file viewer's
# cap and two quotas, and allow file:// git URLs.

load web
load ../fixtures/auth/lib

ARCHIVER=$VEGA_SRCDIR/tests/fixtures/archives/make-archive.py
A=$VG_E2E_TMP/archives

setup_file() {
	local user
	# Every archive once for the whole file (about 4 s); the limits they
	# are cut for are the stack's.
	if [ ! -r "$A/refused.tsv" ]; then
		python3 "$ARCHIVER" "$A" \
			--file-limit "$VEGA_MAX_ARCHIVE_FILE_BYTES" \
			--total-limit "$VEGA_MAX_ARCHIVE_UNCOMPRESSED_BYTES" \
			--source-limit "$VEGA_MAX_SOURCE_BYTES" >&2
	fi
	# The git repositories the programs' user clones from.
	user=$(auth_stack_user)
	mkdir -p "$VG_E2E_TMP/git"
	[ -n "$user" ] && chown "$user" "$VG_E2E_TMP/git"
	# The account most tests upload with, and its project.
	web_setup
	T=$BATS_FILE_TMPDIR
	new_user uploader
	export SRC_EMAIL=$email SRC_PASSWORD=$password
	login "$email" "$password"
	TOKEN=$(tok)
	api POST /v1/projects -d '{"name":"uploads","description":"the suite'\''s uploads"}'
	[ "$code" = 201 ] || { echo "cannot create the upload project: $code $body" >&2; return 1; }
	export SRC_PROJECT=$(jget id)
}

setup() {
	web_setup
	login "$SRC_EMAIL" "$SRC_PASSWORD"
	assert_code 200
	TOKEN=$(tok)
	DIGEST=$(cat "$A/tree.digest")
}

# ---- helpers ----------------------------------------------------------

# api METHOD PATH [curl args...]: as $TOKEN, JSON in.
api() {
	local method=$1 path=$2
	shift 2
	req "$method" "$U$path" -H "Authorization: Bearer $TOKEN" \
		-H 'Content-Type: application/json' "$@"
}

# login_as NAME [GROUP]: a new account, logged in: sets TOKEN, ME (its id)
# and ME_EMAIL.
login_as() {
	new_user "$@" || return 1
	login "$email" "$password"
	assert_code 200 || return 1
	TOKEN=$(tok)
	ME_EMAIL=$email
	api GET /v1/auth/me
	ME=$(jget id)
}

# new_project NAME: POST /v1/projects; sets PROJECT.
new_project() {
	api POST /v1/projects -d "{\"name\":\"$1\"}"
	assert_code 201 || return 1
	PROJECT=$(jget id)
}

# new_repo [PROJECT] [NAME]: an upload repository; sets REPO.
new_repo() {
	local p=${1:-$SRC_PROJECT} name=${2:-repo-$RANDOM}
	api POST "/v1/projects/$p/repositories" -d "{\"name\":\"$name\",\"source_type\":\"upload\"}"
	assert_code 201 || return 1
	REPO=$(jget id)
}

# upload REPO FILE [curl args...]: the archive as the raw body.
upload() {
	local repo=$1 file=$2
	shift 2
	code=$(curl -sS -o "$T/body" -D "$T/hdrs" -w '%{http_code}' --max-time 120 \
		-X POST -H "Authorization: Bearer $TOKEN" -H 'Expect:' \
		-H 'Content-Type: application/octet-stream' --data-binary "@$file" "$@" \
		"$U/v1/repositories/$repo/snapshots") || code=000
	body=$(cat "$T/body" 2>/dev/null)
	hdrs=$(tr -d '\r' <"$T/hdrs" 2>/dev/null)
}

# What a refused upload must leave as it was: temporary files, blobs and
# (json) the store's records, audit excepted; (postgres) snapshot rows.
state() {
	{
		find "$VEGA_DATA_DIR/tmp" -mindepth 1 2>/dev/null | sed 's/^/tmp: /'
		find "$VEGA_DATA_DIR/blobs" -type f 2>/dev/null | sed 's/^/blob: /'
		if [ "$VG_E2E_BACKEND" = json ]; then
			find "$VEGA_DATA_DIR/store" -type f ! -name '.*' ! -path '*/audit/*' 2>/dev/null |
				sed 's/^/record: /'
		else
			echo "snapshot rows: $(psql "$VEGA_DATABASE_URL" -Atc 'SELECT count(*) FROM snapshots')"
		fi
	} | sort
}

# no_temp_files: nothing under $VEGA_DATA_DIR/tmp.
no_temp_files() {
	local left
	left=$(find "$VEGA_DATA_DIR/tmp" -mindepth 1 2>/dev/null)
	[ -z "$left" ] || { echo "left in tmp: $left"; return 1; }
}

# unchanged BEFORE: state() is what it was (give a program that lost its
# client up to 5 s to clean up).
unchanged() {
	local i
	for i in $(seq 1 50); do
		state >"$T/after"
		cmp -s "$1" "$T/after" && return 0
		sleep 0.1
	done
	echo "left behind:"
	diff "$1" "$T/after"
	return 1
}

# no_snapshots REPO: the repository has no snapshot and no current one.
no_snapshots() {
	api GET "/v1/repositories/$1/snapshots"
	assert_code 200 || return 1
	[ "$(jget items)" = "[]" ] || { echo "snapshots: $body"; return 1; }
	api GET "/v1/repositories/$1"
	assert_code 200 || return 1
	[ "$(jget current_snapshot_id)" = null ] || [ -z "$(jget current_snapshot_id)" ] ||
		{ echo "current snapshot: $body"; return 1; }
}

# refused FILE: upload one archive of refused.tsv to a fresh repository;
# the status, code and reason it lists, and nothing left behind.
refused() {
	local f=$1 line want reason
	line=$(grep -P "^\Q$f\E\t" "$A/refused.tsv") || { echo "no such case $f"; return 1; }
	want=$(cut -f2 <<<"$line")
	reason=$(cut -f3 <<<"$line")
	new_repo || return 1
	state >"$T/before"
	upload "$REPO" "$A/$f"
	assert_code "$want" || return 1
	assert_envelope invalid_archive || return 1
	[ "$(jget error.details.reason)" = "$reason" ] ||
		{ echo "reason $(jget error.details.reason), want $reason: $body"; return 1; }
	no_temp_files || return 1
	unchanged "$T/before" || return 1
	no_snapshots "$REPO"
	assert_alive
}

# rawpost PATH DECLARED MODE [FILE]: a POST by hand, for what curl will
# not send, with X-Request-Id $RID when set.  DECLARED is the
# Content-Length; MODE:
#   all          send FILE whole, then read the answer
#   half-close   send FILE, shut our side for writing, read
#   headers      send no body at all, read
# Sets code (000 when the server closed without an answer), body, hdrs.
rawpost() {
	local path=$1 declared=$2 mode=$3 file=${4:-/dev/null}
	python3 - "${U##*:}" "$path" "$TOKEN" "$declared" "$mode" "$file" "${RID:-}" >"$T/raw" <<'EOF'
import socket, sys
port, path, token, declared, mode, fname, rid = sys.argv[1:8]
data = open(fname, "rb").read()
head = ("POST %s HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n"
        "Content-Type: application/octet-stream\r\nContent-Length: %s\r\n"
        "%sConnection: close\r\n\r\n"
        % (path, token, declared, "X-Request-Id: %s\r\n" % rid if rid else "")).encode()
s = socket.create_connection(("127.0.0.1", int(port)), timeout=60)
s.sendall(head)
try:
    if mode in ("all", "half-close"):
        s.sendall(data)
    if mode == "half-close":
        s.shutdown(socket.SHUT_WR)
except OSError:
    pass
# Read one answer: headers, then Content-Length bytes (or to the close).
out = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
        if b"\r\n\r\n" in out:
            h, _, rest = out.partition(b"\r\n\r\n")
            for line in h.split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length" and len(rest) >= int(v):
                    raise StopIteration
except (StopIteration, socket.timeout, ConnectionResetError):
    pass
sys.stdout.buffer.write(out)
EOF
	code=$(head -n1 "$T/raw" | awk '{print $2}')
	code=${code:-000}
	hdrs=$(sed -n '1,/^\r$/p' "$T/raw" | tr -d '\r')
	body=$(sed '1,/^\r$/d' "$T/raw")
}

# wait_ingest REPO [SECONDS]: poll until the repository is ready or failed
# (bounded); leaves its JSON in $body.
wait_ingest() {
	local i max=$((${2:-60} * 5)) st
	for i in $(seq 1 "$max"); do
		api GET "/v1/repositories/$1"
		st=$(jget ingest_status)
		case $st in ready | failed) return 0 ;; esac
		sleep 0.2
	done
	echo "repository $1 still $st after ${2:-60} s: $body"
	return 1
}

# git_repo NAME: a git repository of the good tree under $VG_E2E_TMP/git,
# owned by the programs' user (git refuses others' repositories); sets
# GIT_DIR_ and GIT_HEAD.
git_repo() {
	local d=$VG_E2E_TMP/git/$1 user
	rm -rf "$d"
	cp -r "$A/tree" "$d"
	(
		cd "$d" &&
			git init -q -b main &&
			git add -A &&
			git -c user.name=Vega -c user.email=vega@example.org commit -q -m first &&
			git tag v1
	) || return 1
	user=$(auth_stack_user)
	[ -n "$user" ] && chown -R "$user" "$d"
	GIT_DIR_=$d
	GIT_HEAD=$(git -C "$d" -c safe.directory='*' rev-parse HEAD)
}

# ---- uploads: the good tree -------------------------------------------

@test "every format of one tree gives the same snapshot: 201 with the expected digest, then 200 and the same id" {
	local first f id n
	new_repo
	upload "$REPO" "$A/tree.tar"
	assert_code 201
	first=$(jget id)
	[ -n "$first" ]
	[ "$(jget digest)" = "$DIGEST" ] || { echo "digest $(jget digest), want $DIGEST"; false; }
	[ "$(jget repository_id)" = "$REPO" ]
	[ "$(jget format)" = tar ]
	[ "$(jget file_count)" = 10 ]
	[ "$(jget total_bytes)" = "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bytes"])' "$A/tree.json")" ]
	[ "$(jget languages.c)" = 1 ]
	[ "$(jget languages.python)" = 1 ]
	[ "$(jget languages.markdown)" = 2 ]
	[ "$(jget git_commit)" = null ] || [ -z "$(jget git_commit)" ]
	case $(hdr Content-Type) in application/json*) ;; *) false ;; esac
	for f in tree.tar.gz tree.tar.xz tree.tar.zst tree.zip tree.tar; do
		upload "$REPO" "$A/$f"
		[ "$code" = 200 ] || { echo "$f: $code $body"; false; }
		[ "$(jget id)" = "$first" ] || { echo "$f: another snapshot $body"; false; }
		[ "$(jget digest)" = "$DIGEST" ]
	done
	api GET "/v1/repositories/$REPO/snapshots"
	assert_code 200
	[ "$(jget items.0.id)" = "$first" ]
	[ -z "$(jget items.1)" ]
	api GET "/v1/repositories/$REPO"
	[ "$(jget ingest_status)" = ready ]
	[ "$(jget current_snapshot_id)" = "$first" ]
	[ "$(jget ingest_error)" = null ] || [ -z "$(jget ingest_error)" ]
	api GET "/v1/snapshots/$first"
	assert_code 200
	[ "$(jget digest)" = "$DIGEST" ]
	# Stored once: one tar and one manifest under the digest, nothing else.
	n=$(find "$VEGA_DATA_DIR/blobs" -type f -name "$DIGEST*" | wc -l)
	[ "$n" = 2 ] || { find "$VEGA_DATA_DIR/blobs" -type f; false; }
	[ -f "$VEGA_DATA_DIR/blobs/sources/snapshots/$DIGEST.tar" ]
	[ -f "$VEGA_DATA_DIR/blobs/sources/snapshots/$DIGEST.manifest.json" ]
	no_temp_files
}

@test "each format on its own repository: 201, the same digest, the format recorded, the blob not stored again" {
	local f fmt before=
	for f in tree.tar tree.tar.gz tree.tar.xz tree.tar.zst tree.zip; do
		new_repo
		upload "$REPO" "$A/$f"
		[ "$code" = 201 ] || { echo "$f: $code $body"; false; }
		[ -n "$before" ] || before=$(find "$VEGA_DATA_DIR/blobs" -type f | sort)
		[ "$(jget digest)" = "$DIGEST" ] || { echo "$f: $body"; false; }
		fmt=${f#tree.}
		[ "$(jget format)" = "$fmt" ] || { echo "$f: format $(jget format)"; false; }
		[ "$(jget file_count)" = 10 ]
	done
	# Stored by the first upload; nothing new since.
	[ "$(find "$VEGA_DATA_DIR/blobs" -type f | sort)" = "$before" ]
	no_temp_files
}

@test "an archive over the JSON body limit but under the source limit goes through the upload location, streamed" {
	local size spooled
	size=$(stat -c %s "$A/big-ok.tar.gz")
	[ "$size" -gt "${VEGA_MAX_JSON_BODY_BYTES:-1048576}" ]
	[ "$size" -lt "$VEGA_MAX_SOURCE_BYTES" ]
	new_repo
	# nginx notes each body it spools to a (deleted at once) temporary file
	spooled=$(grep -c 'buffered to a temporary file' "$VG_STACK_LOGDIR/error.log" || true)
	upload "$REPO" "$A/big-ok.tar.gz"
	assert_code 201
	[ "$(jget file_count)" = 2 ]
	[ "$(grep -c 'buffered to a temporary file' "$VG_STACK_LOGDIR/error.log" || true)" = "$spooled" ] ||
		{ grep 'buffered to a temporary file' "$VG_STACK_LOGDIR/error.log" | tail -1; false; }
	no_temp_files
	# the same size anywhere else is over the JSON limit: nginx refuses it
	req POST "$U/v1/repositories/$REPO/source" -H "Authorization: Bearer $TOKEN" \
		-H 'Expect:' --data-binary "@$A/big-ok.tar.gz"
	assert_code 413
	assert_envelope payload_too_large
}

# ---- files of a snapshot --------------------------------------------------

@test "GET /v1/snapshots/{id}/files: every file with size, sha256 and language, in path order; path_prefix; paging" {
	local snap all paged cursor pages
	new_repo
	upload "$REPO" "$A/tree.tar.gz"
	assert_code 201
	snap=$(jget id)
	api GET "/v1/snapshots/$snap/files"
	assert_code 200
	all=$body
	printf '%s' "$all" | python3 -c '
import json, sys
got = json.loads(sys.stdin.buffer.read().decode("utf-8"))
want = json.load(open(sys.argv[1], encoding="utf-8"))["files"]
items = got["items"]
assert got.get("next_cursor") is None, got
paths = [i["path"] for i in items]
assert paths == sorted(want, key=lambda p: p.encode()), paths
for i in items:
    w = want[i["path"]]
    assert i["size"] == w["size"] and i["sha256"] == w["sha256"], i
lang = {i["path"]: i["language"] for i in items}
expect = {"src/main.c": "c", "src/util.py": "python", "src/lib/helper.js": "javascript",
          "src/lib/query.sql": "sql", "README.md": "markdown", "Makefile": "makefile",
          "docs/index.html": "html", "docs/notes.txt": "text", "docs/caf\u00e9.md": "markdown"}
for p, l in expect.items():
    assert lang[p] == l, (p, lang[p], l)
' "$A/tree.json"
	api GET "/v1/snapshots/$snap/files?path_prefix=src/"
	assert_code 200
	[ "$(printf '%s' "$body" | python3 -c 'import json,sys; print(" ".join(i["path"] for i in json.load(sys.stdin)["items"]))')" = \
		"src/lib/helper.js src/lib/query.sql src/main.c src/util.py" ]
	api GET "/v1/snapshots/$snap/files?path_prefix=src/lib/"
	[ "$(printf '%s' "$body" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')" = 2 ]
	api GET "/v1/snapshots/$snap/files?path_prefix=nothing/"
	assert_code 200
	[ "$(jget items)" = "[]" ]
	# pages of 3: 10 files in 4 pages, together the whole list
	paged=
	cursor=
	pages=0
	while :; do
		api GET "/v1/snapshots/$snap/files?limit=3${cursor:+&cursor=$cursor}"
		assert_code 200
		pages=$((pages + 1))
		[ "$pages" -le 4 ] || { echo "too many pages: $body"; false; }
		paged+=$(printf '%s' "$body" | python3 -c 'import json,sys; [print(i["path"]) for i in json.load(sys.stdin)["items"]]')$'\n'
		cursor=$(jget next_cursor)
		[ "$cursor" = null ] && cursor=
		[ -n "$cursor" ] || break
		cursor=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$cursor")
	done
	[ "$pages" = 4 ]
	[ "$(printf '%s' "$paged" | sed '/^$/d')" = \
		"$(printf '%s' "$all" | python3 -c 'import json,sys; [print(i["path"]) for i in json.load(sys.stdin)["items"]]')" ]
	# a prefix and a page size together
	api GET "/v1/snapshots/$snap/files?path_prefix=src/&limit=3"
	[ "$(printf '%s' "$body" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')" = 3 ]
	[ -n "$(jget next_cursor)" ] && [ "$(jget next_cursor)" != null ]
	api GET "/v1/snapshots/$snap/files?cursor=not-a-cursor"
	assert_code 400
}

@test "GET /v1/snapshots/{id}/files/{path}: the content as text/plain with nosniff; 404 for no such file; 413 over the viewer's cap" {
	local snap
	new_repo
	upload "$REPO" "$A/tree.zip"
	assert_code 201
	snap=$(jget id)
	api GET "/v1/snapshots/$snap/files/src/main.c"
	assert_code 200
	cmp "$T/body" "$A/tree/src/main.c"
	case $(hdr Content-Type) in text/plain*) ;; *) echo "type $(hdr Content-Type)"; false ;; esac
	[ "$(hdr X-Content-Type-Options)" = nosniff ]
	# HTML is served as text, never as a page
	api GET "/v1/snapshots/$snap/files/docs/index.html"
	assert_code 200
	cmp "$T/body" "$A/tree/docs/index.html"
	case $(hdr Content-Type) in text/plain*) ;; *) echo "type $(hdr Content-Type)"; false ;; esac
	[ "$(hdr X-Content-Type-Options)" = nosniff ]
	# a name outside ASCII, percent-encoded
	api GET "/v1/snapshots/$snap/files/docs/caf%C3%A9.md"
	assert_code 200
	cmp "$T/body" "$A/tree/docs/café.md"
	api GET "/v1/snapshots/$snap/files/src/lib/query.sql"
	assert_code 200
	cmp "$T/body" "$A/tree/src/lib/query.sql"
	api GET "/v1/snapshots/$snap/files/no/such.c"
	assert_code 404
	assert_envelope not_found
	api GET "/v1/snapshots/$snap/files/src"
	assert_code 404
	[ "$(stat -c %s "$A/tree/data/big.txt")" -gt "$VEGA_MAX_FILE_VIEW_BYTES" ]
	api GET "/v1/snapshots/$snap/files/data/big.txt"
	assert_code 413
	assert_envelope payload_too_large
	api GET "/v1/snapshots/00000000-0000-4000-8000-000000000000/files/src/main.c"
	assert_code 404
	api GET "/v1/snapshots/00000000-0000-4000-8000-000000000000"
	assert_code 404
	assert_envelope not_found
}

# ---- refused archives ---------------------------------------------------

@test "60,000 entries against the limit of 50,000: 422 too_many_entries" {
	[ "${VEGA_MAX_ARCHIVE_ENTRIES:-50000}" = 50000 ]
	refused many.tar.xz
}

@test "a compression bomb (a few KiB inflating past the uncompressed limit): 422 uncompressed_too_large" {
	[ "$(stat -c %s "$A/bomb.tar.gz")" -lt 65536 ]
	refused bomb.tar.gz
}

@test "one file over VEGA_MAX_ARCHIVE_FILE_BYTES: 422 file_too_large" {
	refused bigfile.tar.gz
}

@test "traversal: ../x is 422 path_traversal" {
	refused dotdot.tar
}

@test "traversal: /etc/x is 422 absolute_path" {
	refused abs.tar
}

@test "traversal: a/../../x is 422 path_traversal" {
	refused mid-dotdot.tar
}

@test "traversal in a zip: ../x is 422 path_traversal" {
	refused zip-dotdot.zip
}

@test "a symbolic link climbing out of the tree: 422 link_outside_tree" {
	refused symlink-out.tar
}

@test "a symbolic link to an absolute path: 422 link_outside_tree" {
	refused symlink-abs.tar
}

@test "a hard link: 422 hard_link" {
	refused hardlink.tar
}

@test "a character device: 422 special_file" {
	refused chardev.tar
}

@test "a FIFO: 422 special_file" {
	refused fifo.tar
}

@test "a truncated gzip: 422 truncated" {
	refused truncated.tar.gz
}

@test "a damaged gzip: 422 corrupt" {
	refused corrupt.tar.gz
}

@test "a zip whose central directory claims larger sizes than its entries: 422 corrupt" {
	refused zip-cd-larger.zip
}

@test "a zip whose central directory claims smaller sizes than its entries: 422 corrupt" {
	refused zip-cd-smaller.zip
}

@test "the same path twice: 422 duplicate_path" {
	refused dup.tar
}

@test "the same path twice after normalization (d/a.txt, ./d//a.txt): 422 duplicate_path" {
	refused dup-normalized.tar
}

@test "a name that is not UTF-8: 422 invalid_utf8_name" {
	refused badutf8.tar
}

@test "an empty tar: 422 empty_archive" {
	refused empty.tar
}

@test "an empty zip: 422 empty_archive" {
	refused empty.zip
}

@test "directories only: 422 empty_archive" {
	refused dirs-only.tar
}

@test "random bytes: 422 unsupported_format" {
	refused random.bin
}

@test "every case of refused.tsv has its test" {
	local f
	while IFS=$'\t' read -r f _ _; do
		grep -q "^	refused $f\$" "$BATS_TEST_FILENAME" || { echo "no test uploads $f"; false; }
	done <"$A/refused.tsv"
}

@test "an empty body: refused with a 4xx, nothing stored" {
	new_repo
	state >"$T/before"
	upload "$REPO" /dev/null
	[ "$code" -ge 400 ] && [ "$code" -lt 500 ] || { echo "$code $body"; false; }
	assert_envelope "$(jget error.code)"
	unchanged "$T/before"
	no_snapshots "$REPO"
}

# ---- sizes: Content-Length and the source limit --------------------------

@test "Content-Length larger than the body sent: no snapshot, nothing stored (nginx logs 400)" {
	local size RID
	RID=$(new_rid)
	new_repo
	state >"$T/before"
	size=$(stat -c %s "$A/tree.tar.gz")
	# the whole archive is there: only the missing bytes are wrong
	rawpost "/v1/repositories/$REPO/snapshots" $((size + 1000)) half-close "$A/tree.tar.gz"
	case $code in
	000) ;;    # nginx closes on a client that stopped short
	400) assert_envelope "$(jget error.code)" ;;
	*) echo "status $code: $body"; false ;;
	esac
	access_lines_for "$RID" | grep -q '"status":400' ||
		{ echo "access log:"; access_lines_for "$RID"; false; }
	unchanged "$T/before"
	no_snapshots "$REPO"
	assert_alive
}

@test "Content-Length smaller than the body sent: the archive is read as cut there, 422 truncated, nothing stored" {
	local size
	new_repo
	state >"$T/before"
	size=$(stat -c %s "$A/tree.tar.gz")
	rawpost "/v1/repositories/$REPO/snapshots" $((size / 2)) all "$A/tree.tar.gz"
	assert_code 422
	assert_envelope invalid_archive
	[ "$(jget error.details.reason)" = truncated ]
	unchanged "$T/before"
	no_snapshots "$REPO"
	assert_alive
}

@test "Content-Length over VEGA_MAX_SOURCE_BYTES: 413 payload_too_large at once, before any body byte" {
	local declared
	new_repo
	state >"$T/before"
	for declared in $((VEGA_MAX_SOURCE_BYTES + 1)) 10737418240 9223372036854775807; do
		rawpost "/v1/repositories/$REPO/snapshots" "$declared" headers
		[ "$code" = 413 ] || { echo "declared $declared: $code $body"; false; }
		assert_envelope payload_too_large
	done
	# and a real body past the limit, announced
	upload "$REPO" "$A/over-source.tar.gz"
	assert_code 413
	assert_envelope payload_too_large
	unchanged "$T/before"
	no_snapshots "$REPO"
}

@test "a chunked body growing past VEGA_MAX_SOURCE_BYTES: 413 payload_too_large, nothing stored" {
	[ "$(stat -c %s "$A/over-source.tar.gz")" -gt "$VEGA_MAX_SOURCE_BYTES" ]
	new_repo
	state >"$T/before"
	upload "$REPO" "$A/over-source.tar.gz" -H 'Transfer-Encoding: chunked'
	assert_code 413
	assert_envelope payload_too_large
	unchanged "$T/before"
	no_snapshots "$REPO"
	# a chunked body within the limit is fine
	upload "$REPO" "$A/tree.tar.xz" -H 'Transfer-Encoding: chunked'
	assert_code 201
	[ "$(jget digest)" = "$DIGEST" ]
}

# ---- concurrency ------------------------------------------------------------

@test "8 concurrent uploads of new content: one snapshot (one 201, seven 200, one id), one blob" {
	local d=$T/conc i ids digest
	mkdir -p "$d/tree/src"
	head -c 4096 /dev/urandom | base64 >"$d/tree/src/unique-$RANDOM.txt"
	echo 'int x;' >"$d/tree/src/x.c"
	tar -C "$d/tree" -czf "$d/conc.tar.gz" .
	new_repo
	for i in 1 2 3 4 5 6 7 8; do
		curl -sS -o "$d/body.$i" -w '%{http_code}\n' --max-time 60 -X POST \
			-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/gzip' \
			--data-binary "@$d/conc.tar.gz" "$U/v1/repositories/$REPO/snapshots" \
			>"$d/code.$i" &
	done
	wait
	[ "$(cat "$d"/code.* | sort | uniq -c | sed 's/^ *//' | tr '\n' ' ')" = "7 200 1 201 " ] ||
		{ head "$d"/code.* "$d"/body.*; false; }
	ids=$(for i in 1 2 3 4 5 6 7 8; do body=$(cat "$d/body.$i"); jget id; done | sort -u)
	[ "$(echo "$ids" | wc -l)" = 1 ]
	body=$(cat "$d/body.1")
	digest=$(jget digest)
	api GET "/v1/repositories/$REPO/snapshots"
	[ "$(jget items.0.id)" = "$ids" ]
	[ -z "$(jget items.1)" ]
	[ "$(find "$VEGA_DATA_DIR/blobs" -type f -name "$digest*" | wc -l)" = 2 ]
	[ -z "$(find "$VEGA_DATA_DIR/blobs" -name '.tmp-*')" ]
	no_temp_files
}

# ---- projects and members ---------------------------------------------------

@test "projects: create, list with role and roll-up, get, patch, delete; validation" {
	local p
	login_as pam
	api POST /v1/projects -d '{"name":"alpha","description":"first"}'
	assert_code 201
	p=$(jget id)
	[ "$(jget name)" = alpha ]
	[ "$(jget description)" = first ]
	[ "$(jget owner_id)" = "$ME" ]
	[ "$(jget role)" = owner ]
	[ "$(jget rollup.repositories)" = 0 ]
	[ "$(jget rollup.last_scan_status)" = null ]
	[ "$(jget rollup.open_findings)" = '{"critical": 0, "high": 0, "info": 0, "low": 0, "medium": 0}' ]
	[[ $(jget created_at) =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$ ]]
	new_repo "$p"
	api GET /v1/projects
	assert_code 200
	[ "$(jget items.0.id)" = "$p" ]
	[ "$(jget items.0.role)" = owner ]
	[ "$(jget items.0.rollup.repositories)" = 1 ]
	[ -z "$(jget items.1)" ]
	api PATCH "/v1/projects/$p" -d '{"name":"beta"}'
	assert_code 200
	[ "$(jget name)" = beta ]
	[ "$(jget description)" = first ]
	api GET "/v1/projects/$p"
	assert_code 200
	[ "$(jget name)" = beta ]
	# validation, field by field
	api POST /v1/projects -d '{}'
	assert_code 400
	assert_envelope validation_failed
	[ "$(jget error.details.field)" = name ]
	api POST /v1/projects -d '{"name":""}'
	assert_code 400
	[ "$(jget error.details.field)" = name ]
	api POST /v1/projects -d "{\"name\":\"$(printf 'n%.0s' $(seq 201))\"}"
	assert_code 400
	[ "$(jget error.details.field)" = name ]
	api POST /v1/projects -d '{"name":'
	assert_code 400
	assert_envelope invalid_json
	api PATCH "/v1/projects/$p" -d '{"name":42}'
	assert_code 400
	[ "$(jget error.details.field)" = name ]
	api DELETE "/v1/projects/$p"
	assert_code 204
	api GET "/v1/projects/$p"
	assert_code 404
	assert_envelope not_found
	api GET "/v1/repositories/$REPO"
	assert_code 404
	api GET /v1/projects
	[ "$(jget items)" = "[]" ]
}

@test "roles: viewers read, members write, owners manage; a stranger gets 404; the last owner stays (409)" {
	local p o m v s otok mtok vtok stok repo mrepo path
	login_as stranger-sam
	s=$ME
	stok=$TOKEN
	login_as viewer-val
	v=$ME
	vtok=$TOKEN
	login_as member-mo
	m=$ME
	mtok=$TOKEN
	login_as owner-olga
	o=$ME
	otok=$TOKEN
	new_project roles
	p=$PROJECT
	new_repo "$p"
	repo=$REPO
	api PUT "/v1/projects/$p/members/$m" -d '{"role":"member"}'
	assert_code 201
	[ "$(jget user_id)" = "$m" ]
	[ "$(jget role)" = member ]
	[ "$(jget added_by)" = "$o" ]
	[ -n "$(jget email)" ]
	api PUT "/v1/projects/$p/members/$v" -d '{"role":"viewer"}'
	assert_code 201
	api PUT "/v1/projects/$p/members/$v" -d '{"role":"viewer"}'
	assert_code 200
	api PUT "/v1/projects/$p/members/$s" -d '{"role":"admin"}'
	assert_code 400
	assert_envelope validation_failed
	[ "$(jget error.details.field)" = role ]
	api PUT "/v1/projects/$p/members/00000000-0000-4000-8000-000000000000" -d '{"role":"viewer"}'
	assert_code 404
	api GET "/v1/projects/$p/members"
	assert_code 200
	[ "$(printf '%s' "$body" | python3 -c 'import json,sys; print(" ".join(sorted(i["role"] for i in json.load(sys.stdin)["items"])))')" = "member owner viewer" ]
	api GET "/v1/projects/$p/members/$v"
	assert_code 200
	[ "$(jget role)" = viewer ]

	# the viewer reads, and writes nothing
	TOKEN=$vtok
	api GET "/v1/projects/$p"
	assert_code 200
	[ "$(jget role)" = viewer ]
	api GET /v1/projects
	[ "$(jget items.0.id)" = "$p" ] && [ "$(jget items.0.role)" = viewer ]
	api GET "/v1/projects/$p/repositories"
	assert_code 200
	[ "$(jget items.0.id)" = "$repo" ]
	api GET "/v1/repositories/$repo"
	assert_code 200
	api PATCH "/v1/projects/$p" -d '{"name":"mine"}'
	assert_code 403
	assert_envelope forbidden
	api POST "/v1/projects/$p/repositories" -d '{"name":"v","source_type":"upload"}'
	assert_code 403
	assert_envelope forbidden
	api PATCH "/v1/repositories/$repo" -d '{"name":"v"}'
	assert_code 403
	upload "$repo" "$A/tree.tar"
	assert_code 403
	assert_envelope forbidden
	api PUT "/v1/projects/$p/members/$s" -d '{"role":"viewer"}'
	assert_code 403
	api DELETE "/v1/repositories/$repo"
	assert_code 403
	api DELETE "/v1/projects/$p"
	assert_code 403

	# the member writes, and manages nobody
	TOKEN=$mtok
	api POST "/v1/projects/$p/repositories" -d '{"name":"m","source_type":"upload"}'
	assert_code 201
	mrepo=$(jget id)
	upload "$mrepo" "$A/tree.tar"
	assert_code 201
	api PUT "/v1/projects/$p/members/$s" -d '{"role":"viewer"}'
	assert_code 403
	assert_envelope forbidden
	api DELETE "/v1/projects/$p/members/$v"
	assert_code 403
	api DELETE "/v1/projects/$p"
	assert_code 403

	# a stranger sees nothing, not even that it exists
	TOKEN=$stok
	for path in "/v1/projects/$p" "/v1/projects/$p/members" "/v1/projects/$p/repositories" \
		"/v1/repositories/$repo" "/v1/repositories/$mrepo/snapshots"; do
		api GET "$path"
		[ "$code" = 404 ] || { echo "GET $path: $code $body"; false; }
		assert_envelope not_found
	done
	api PATCH "/v1/projects/$p" -d '{"name":"x"}'
	assert_code 404
	api DELETE "/v1/projects/$p"
	assert_code 404
	api POST "/v1/projects/$p/repositories" -d '{"name":"s","source_type":"upload"}'
	assert_code 404
	upload "$repo" "$A/tree.tar"
	assert_code 404
	api GET /v1/projects
	[ "$(jget items)" = "[]" ]

	# the last owner can neither leave nor step down
	TOKEN=$otok
	api DELETE "/v1/projects/$p/members/$o"
	assert_code 409
	assert_envelope conflict
	api PUT "/v1/projects/$p/members/$o" -d '{"role":"member"}'
	assert_code 409
	assert_envelope conflict
	# with a second owner, the first may go
	api PUT "/v1/projects/$p/members/$m" -d '{"role":"owner"}'
	assert_code 200
	api DELETE "/v1/projects/$p/members/$o"
	assert_code 204
	api GET "/v1/projects/$p"
	assert_code 404
	TOKEN=$mtok
	api GET "/v1/projects/$p"
	[ "$(jget role)" = owner ]
	api DELETE "/v1/projects/$p/members/$v"
	assert_code 204
	TOKEN=$vtok
	api GET "/v1/projects/$p"
	assert_code 404
	TOKEN=$mtok
	api DELETE "/v1/projects/$p"
	assert_code 204
	api GET "/v1/repositories/$mrepo"
	assert_code 404
}

# ---- repositories -----------------------------------------------------------

@test "repositories: create, list, get, patch, delete; ingest status pending → ready; validation" {
	local r snap
	api POST "/v1/projects/$SRC_PROJECT/repositories" -d '{"name":"crud","source_type":"upload"}'
	assert_code 201
	r=$(jget id)
	[ "$(jget project_id)" = "$SRC_PROJECT" ]
	[ "$(jget name)" = crud ]
	[ "$(jget source_type)" = upload ]
	[ "$(jget git_url)" = null ]
	[ "$(jget ingest_status)" = pending ]
	[ "$(jget ingest_error)" = null ]
	[ "$(jget current_snapshot_id)" = null ]
	api GET "/v1/projects/$SRC_PROJECT/repositories?limit=200"
	assert_code 200
	printf '%s' "$body" | python3 -c 'import json,sys; assert any(i["id"] == sys.argv[1] for i in json.load(sys.stdin)["items"])' "$r"
	api PATCH "/v1/repositories/$r" -d '{"name":"crud-2"}'
	assert_code 200
	[ "$(jget name)" = crud-2 ]
	api GET "/v1/repositories/$r"
	[ "$(jget name)" = crud-2 ]
	[ "$(jget ingest_status)" = pending ]
	upload "$r" "$A/tree.tar.zst"
	assert_code 201
	snap=$(jget id)
	api GET "/v1/repositories/$r"
	[ "$(jget ingest_status)" = ready ]
	[ "$(jget current_snapshot_id)" = "$snap" ]
	# field-level validation
	local cases=(
		'{"source_type":"upload"}|name'
		'{"name":"","source_type":"upload"}|name'
		'{"name":"x"}|source_type'
		'{"name":"x","source_type":"svn"}|source_type'
		'{"name":"x","source_type":"git"}|git_url'
		'{"name":"x","source_type":"git","git_url":"http://example.org/x.git"}|git_url'
		'{"name":"x","source_type":"git","git_url":"ftp://example.org/x.git"}|git_url'
		'{"name":"x","source_type":"git","git_url":"not a url"}|git_url'
		'{"name":"x","source_type":"git","git_url":"https://example.org/x.git","ref":5}|ref'
	)
	local c
	for c in "${cases[@]}"; do
		api POST "/v1/projects/$SRC_PROJECT/repositories" -d "${c%|*}"
		[ "$code" = 400 ] || { echo "${c%|*}: $code $body"; false; }
		assert_envelope validation_failed
		[ "$(jget error.details.field)" = "${c#*|}" ] || { echo "${c%|*}: $body"; false; }
	done
	api DELETE "/v1/repositories/$r"
	assert_code 204
	api GET "/v1/repositories/$r"
	assert_code 404
	api GET "/v1/snapshots/$snap"
	assert_code 404
	api GET "/v1/repositories/$r/snapshots"
	assert_code 404
	# the blob is shared and content-addressed: still there for others
	[ -f "$VEGA_DATA_DIR/blobs/sources/snapshots/$DIGEST.tar" ]
}

# ---- git ----------------------------------------------------------------------

@test "git over file://: ingesting, then ready with the tree's snapshot; a re-fetch follows new commits and refs" {
	local r s1 s2 head2
	git_repo demo
	api POST "/v1/projects/$SRC_PROJECT/repositories" \
		-d "{\"name\":\"git-demo\",\"source_type\":\"git\",\"git_url\":\"file://$GIT_DIR_\",\"ref\":\"main\"}"
	assert_code 201
	r=$(jget id)
	[ "$(jget source_type)" = git ]
	[ "$(jget git_url)" = "file://$GIT_DIR_" ]
	[ "$(jget ref)" = main ]
	[ "$(jget ingest_status)" = ingesting ] || [ "$(jget ingest_status)" = ready ] ||
		{ echo "status after create: $body"; false; }
	wait_ingest "$r"
	[ "$(jget ingest_status)" = ready ] || { echo "$body"; false; }
	s1=$(jget current_snapshot_id)
	[ -n "$s1" ] && [ "$s1" != null ]
	api GET "/v1/snapshots/$s1"
	assert_code 200
	# the same tree as the uploads: the same digest
	[ "$(jget digest)" = "$DIGEST" ] || { echo "$body"; false; }
	[ "$(jget git_commit)" = "$GIT_HEAD" ]
	[ "$(jget file_count)" = 10 ]
	no_temp_files

	# a new commit, fetched again without a push
	echo 'print("new")' >"$GIT_DIR_/src/new.py"
	git -C "$GIT_DIR_" -c safe.directory='*' add -A
	git -C "$GIT_DIR_" -c safe.directory='*' -c user.name=Vega -c user.email=vega@example.org commit -q -m second
	head2=$(git -C "$GIT_DIR_" -c safe.directory='*' rev-parse HEAD)
	[ -n "$(auth_stack_user)" ] && chown -R "$(auth_stack_user)" "$GIT_DIR_"
	api POST "/v1/repositories/$r/snapshots" -d '{}'
	assert_code 202
	[ "$(jget id)" = "$r" ]
	wait_ingest "$r"
	[ "$(jget ingest_status)" = ready ] || { echo "$body"; false; }
	s2=$(jget current_snapshot_id)
	[ "$s2" != "$s1" ]
	api GET "/v1/snapshots/$s2"
	[ "$(jget git_commit)" = "$head2" ]
	[ "$(jget file_count)" = 11 ]
	api GET "/v1/repositories/$r/snapshots"
	[ "$(printf '%s' "$body" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')" = 2 ]
	# back to the tag: the first tree again, so the first snapshot
	api POST "/v1/repositories/$r/snapshots" -d '{"ref":"v1"}'
	assert_code 202
	wait_ingest "$r"
	[ "$(jget ingest_status)" = ready ] || { echo "$body"; false; }
	[ "$(jget current_snapshot_id)" = "$s1" ]
	api GET "/v1/repositories/$r/snapshots"
	[ "$(printf '%s' "$body" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')" = 2 ]
	no_temp_files
}

@test "git: a ref that does not exist makes the repository failed, with an error code, and no snapshot" {
	local r
	git_repo badref
	state >"$T/before"
	api POST "/v1/projects/$SRC_PROJECT/repositories" \
		-d "{\"name\":\"git-badref\",\"source_type\":\"git\",\"git_url\":\"file://$GIT_DIR_\",\"ref\":\"no-such-branch\"}"
	assert_code 201
	r=$(jget id)
	wait_ingest "$r"
	[ "$(jget ingest_status)" = failed ] || { echo "$body"; false; }
	[ -n "$(jget ingest_error.code)" ] || { echo "$body"; false; }
	[ -n "$(jget ingest_error.message)" ]
	no_snapshots "$r"
	no_temp_files
	# a repository that is not there fails the same way
	api POST "/v1/projects/$SRC_PROJECT/repositories" \
		-d "{\"name\":\"git-missing\",\"source_type\":\"git\",\"git_url\":\"file://$VG_E2E_TMP/git/none\"}"
	assert_code 201
	r=$(jget id)
	wait_ingest "$r"
	[ "$(jget ingest_status)" = failed ]
	[ -n "$(jget ingest_error.code)" ]
	no_snapshots "$r"
}

@test "git: credentials in the URL never reach the logs" {
	local r secret=pw-$RANDOM-hunter2
	api POST "/v1/projects/$SRC_PROJECT/repositories" \
		-d "{\"name\":\"git-creds\",\"source_type\":\"git\",\"git_url\":\"https://vega:$secret@127.0.0.1:1/x.git\"}"
	assert_code 201
	r=$(jget id)
	wait_ingest "$r"
	[ "$(jget ingest_status)" = failed ]
	! grep -rF -- "$secret" "$VG_STACK_LOGDIR" "$VEGA_DATA_DIR/tmp" 2>/dev/null
}

# ---- threat profiles ------------------------------------------------------

@test "threat profiles: create, list, get, a new version with PUT, the old version still readable" {
	local tp r
	new_repo
	r=$REPO
	api POST "/v1/repositories/$r/threat-profiles" -d '{
		"name": "web app",
		"description": "A shop; customers and staff log in.",
		"assets": ["payment data", "sessions"],
		"trust_boundaries": ["internet to web tier"],
		"entry_points": ["/api/*", "/login"],
		"focus_categories": ["CWE-79", "injection"],
		"out_of_scope_paths": ["vendor/**", "docs/**"],
		"min_severity": "medium"}'
	assert_code 201
	tp=$(jget id)
	[ "$(jget version)" = 1 ]
	[ "$(jget latest_version)" = 1 ]
	[ "$(jget repository_id)" = "$r" ]
	[ "$(jget project_id)" = "$SRC_PROJECT" ]
	[ "$(jget name)" = "web app" ]
	[ "$(jget assets)" = '["payment data", "sessions"]' ]
	[ "$(jget focus_categories)" = '["CWE-79", "injection"]' ]
	[ "$(jget min_severity)" = medium ]
	api GET "/v1/repositories/$r/threat-profiles"
	assert_code 200
	[ "$(jget items.0.id)" = "$tp" ]
	[ -z "$(jget items.1)" ]
	api GET "/v1/threat-profiles/$tp"
	assert_code 200
	[ "$(jget description)" = "A shop; customers and staff log in." ]
	api PUT "/v1/threat-profiles/$tp" -d '{
		"name": "web app v2",
		"description": "A shop.",
		"assets": ["payment data"],
		"trust_boundaries": [],
		"entry_points": [],
		"focus_categories": ["CWE-89"],
		"out_of_scope_paths": [],
		"min_severity": "high"}'
	assert_code 200
	[ "$(jget version)" = 2 ]
	[ "$(jget latest_version)" = 2 ]
	[ "$(jget id)" = "$tp" ]
	api GET "/v1/threat-profiles/$tp"
	[ "$(jget version)" = 2 ]
	[ "$(jget name)" = "web app v2" ]
	[ "$(jget min_severity)" = high ]
	api GET "/v1/threat-profiles/$tp?version=1"
	assert_code 200
	[ "$(jget version)" = 1 ]
	[ "$(jget latest_version)" = 2 ]
	# (the name is the profile's, not a version's: not compared here)
	[ "$(jget description)" = "A shop; customers and staff log in." ]
	[ "$(jget assets)" = '["payment data", "sessions"]' ]
	[ "$(jget trust_boundaries)" = '["internet to web tier"]' ]
	[ "$(jget out_of_scope_paths)" = '["vendor/**", "docs/**"]' ]
	[ "$(jget focus_categories)" = '["CWE-79", "injection"]' ]
	[ "$(jget min_severity)" = medium ]
	api GET "/v1/threat-profiles/$tp?version=3"
	assert_code 404
	api GET "/v1/repositories/$r/threat-profiles"
	[ "$(jget items.0.version)" = 2 ]
	# the default minimum severity
	api POST "/v1/repositories/$r/threat-profiles" -d '{"name":"minimal"}'
	assert_code 201
	[ "$(jget min_severity)" = info ]
	api GET "/v1/threat-profiles/00000000-0000-4000-8000-000000000000"
	assert_code 404
}

@test "threat profiles: field-level validation errors" {
	local c long
	new_repo
	long=$(printf 'd%.0s' $(seq 8001))
	local cases=(
		'{}|name'
		'{"name":""}|name'
		"{\"name\":\"$(printf 'n%.0s' $(seq 201))\"}|name"
		"{\"name\":\"x\",\"description\":\"$long\"}|description"
		'{"name":"x","description":7}|description'
		'{"name":"x","assets":"all"}|assets'
		'{"name":"x","assets":[1]}|assets'
		'{"name":"x","trust_boundaries":{}}|trust_boundaries'
		'{"name":"x","entry_points":[null]}|entry_points'
		'{"name":"x","focus_categories":"CWE-79"}|focus_categories'
		'{"name":"x","out_of_scope_paths":[true]}|out_of_scope_paths'
		'{"name":"x","min_severity":"urgent"}|min_severity'
	)
	for c in "${cases[@]}"; do
		api POST "/v1/repositories/$REPO/threat-profiles" -d "${c%|*}"
		[ "$code" = 400 ] || { echo "${c:0:80}: $code $body"; false; }
		assert_envelope validation_failed
		[ "$(jget error.details.field)" = "${c##*|}" ] || { echo "${c:0:80}: $body"; false; }
	done
	api POST "/v1/repositories/$REPO/threat-profiles" -d '{"name":'
	assert_code 400
	assert_envelope invalid_json
	# a PUT is validated the same way, and a refused one makes no version
	api POST "/v1/repositories/$REPO/threat-profiles" -d '{"name":"ok"}'
	assert_code 201
	c=$(jget id)
	api PUT "/v1/threat-profiles/$c" -d '{"name":"ok","min_severity":"none"}'
	assert_code 400
	[ "$(jget error.details.field)" = min_severity ]
	api GET "/v1/threat-profiles/$c"
	[ "$(jget latest_version)" = 1 ]
	api GET "/v1/repositories/$REPO/threat-profiles"
	[ -z "$(jget items.1)" ]
}

@test "threat profiles: a viewer reads but cannot write; a stranger gets 404" {
	local p tp v vtok stok
	login_as tp-viewer
	vtok=$TOKEN
	v=$ME
	login_as tp-stranger
	stok=$TOKEN
	login_as tp-owner
	new_project tp
	p=$PROJECT
	new_repo "$p"
	api PUT "/v1/projects/$p/members/$v" -d '{"role":"viewer"}'
	assert_code 201
	api POST "/v1/repositories/$REPO/threat-profiles" -d '{"name":"t"}'
	assert_code 201
	tp=$(jget id)
	TOKEN=$vtok
	api GET "/v1/threat-profiles/$tp"
	assert_code 200
	api GET "/v1/repositories/$REPO/threat-profiles"
	assert_code 200
	api PUT "/v1/threat-profiles/$tp" -d '{"name":"mine"}'
	assert_code 403
	assert_envelope forbidden
	api POST "/v1/repositories/$REPO/threat-profiles" -d '{"name":"mine"}'
	assert_code 403
	TOKEN=$stok
	api GET "/v1/threat-profiles/$tp"
	assert_code 404
	api PUT "/v1/threat-profiles/$tp" -d '{"name":"mine"}'
	assert_code 404
	api GET "/v1/repositories/$REPO/threat-profiles"
	assert_code 404
}

# ---- quotas and limits ------------------------------------------------------

@test "quota: VEGA_MAX_PROJECTS_PER_USER projects, then 429 quota_exceeded with the limit; deleting one makes room" {
	local i first
	login_as quota-quinn
	for i in $(seq 1 "$VEGA_MAX_PROJECTS_PER_USER"); do
		new_project "q$i"
		[ -n "$first" ] || first=$PROJECT
	done
	api POST /v1/projects -d '{"name":"one too many"}'
	assert_code 429
	assert_envelope quota_exceeded
	[ "$(jget error.details.setting)" = VEGA_MAX_PROJECTS_PER_USER ]
	[ "$(jget error.details.limit)" = "$VEGA_MAX_PROJECTS_PER_USER" ]
	api GET /v1/projects
	[ "$(printf '%s' "$body" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')" = "$VEGA_MAX_PROJECTS_PER_USER" ]
	api DELETE "/v1/projects/$first"
	assert_code 204
	new_project again
}

@test "quota: VEGA_MAX_THREAT_PROFILES_PER_REPOSITORY profiles, then 429; new versions do not count" {
	local i tp
	new_repo
	for i in $(seq 1 "$VEGA_MAX_THREAT_PROFILES_PER_REPOSITORY"); do
		api POST "/v1/repositories/$REPO/threat-profiles" -d "{\"name\":\"p$i\"}"
		assert_code 201
		tp=$(jget id)
	done
	api PUT "/v1/threat-profiles/$tp" -d '{"name":"p-again"}'
	assert_code 200
	api POST "/v1/repositories/$REPO/threat-profiles" -d '{"name":"too many"}'
	assert_code 429
	assert_envelope quota_exceeded
	[ "$(jget error.details.setting)" = VEGA_MAX_THREAT_PROFILES_PER_REPOSITORY ]
	[ "$(jget error.details.limit)" = "$VEGA_MAX_THREAT_PROFILES_PER_REPOSITORY" ]
}

@test "GET /v1/ops/limits: the active values for an operator; 403 for a user, 401 without a token" {
	api GET /v1/ops/limits
	assert_code 403
	assert_envelope forbidden
	req GET "$U/v1/ops/limits"
	assert_code 401
	login_as ops-otto operator
	api GET /v1/ops/limits
	assert_code 200
	[ "$(jget limits.VEGA_MAX_PROJECTS_PER_USER)" = "$VEGA_MAX_PROJECTS_PER_USER" ]
	[ "$(jget limits.VEGA_MAX_THREAT_PROFILES_PER_REPOSITORY)" = "$VEGA_MAX_THREAT_PROFILES_PER_REPOSITORY" ]
	[ "$(jget limits.VEGA_MAX_SOURCE_BYTES)" = "$VEGA_MAX_SOURCE_BYTES" ]
	[ "$(jget limits.VEGA_MAX_ARCHIVE_ENTRIES)" = 50000 ]
	[ "$(jget limits.VEGA_MAX_ARCHIVE_FILE_BYTES)" = "$VEGA_MAX_ARCHIVE_FILE_BYTES" ]
	[ "$(jget limits.VEGA_MAX_ARCHIVE_UNCOMPRESSED_BYTES)" = "$VEGA_MAX_ARCHIVE_UNCOMPRESSED_BYTES" ]
	[ "$(jget limits.VEGA_MAX_REPOSITORIES_PER_PROJECT)" = 200 ]
}

# ---- last -------------------------------------------------------------------

@test "after the whole suite: no temporary file, no stray blob write, the programs alive" {
	no_temp_files
	[ -z "$(find "$VEGA_DATA_DIR/blobs" -name '.tmp-*')" ]
	assert_alive
	# no sanitizer report in the programs' logs
	! grep -l 'ERROR: AddressSanitizer\|runtime error:' $(program_logs)
}
