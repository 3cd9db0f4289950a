#!/usr/bin/env bash
# A real OCI registry (Debian's docker-registry: CNCF Distribution 2.8) for
# Re2po's registry-remote tests and demo. Config, storage, logs and the pid
# file live under DIR; it listens on 127.0.0.1 only (the packaged config and
# init script listen on *:5000 and are not used).
#
#   registry.sh start  DIR   install missing packages, write DIR/config.yml,
#                            start, wait until a blob round trip works,
#                            write DIR/registry.env
#   registry.sh stop   DIR   stop exactly the pid in DIR/pids/registry.pid
#   registry.sh status DIR   exit 0 when it runs and answers /v2/
#   registry.sh env    DIR   print DIR/registry.env
#
# Environment (read by start):
#   RE2PO_REGISTRY_PORT     listen port on 127.0.0.1 (default 15000)
#   RE2PO_REGISTRY_AUTH     "htpasswd": basic auth with a test user;
#                           "token": the Bearer flow, with tokens from
#                           token_server.py (beside this script) on PORT+1,
#                           which takes the same test user (default: none)
#   RE2PO_REGISTRY_STORAGE  "filesystem" (default, DIR/data) or "s3": the S3
#                           driver against the Ceph of tools/engines/ceph.sh;
#                           blob GETs then answer 307 to a presigned RGW URL
#   RE2PO_CEPH_DIR          the DIR given to ceph.sh (required for s3)
#   RE2PO_REGISTRY_BUCKET   bucket for s3 (default re2po-registry)
#   RE2PO_REGISTRY_TIMEOUT  seconds start may take (default 60)
#
# Logs: DIR/log/registry.log has one JSON object per line. Each request ends
# with a line whose "msg" is "response completed" and which carries
# "http.request.method", "http.request.uri", "http.request.useragent",
# "http.response.status" and "http.response.written" (bytes of the body), so
# tests can count requests and bytes per User-Agent. DIR/log/access.log has
# the same requests in Apache combined format.
set -euo pipefail

ENGINE_NAME=registry # log prefix, read by common.sh
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$HERE/common.sh"

PACKAGES=(docker-registry curl)
TEST_USER=re2po
TEST_PASSWORD=re2po-test-password
PROBE_REPO=re2po/engine-check
# The empty body's SHA-256: RGW insists on x-amz-content-sha256, which
# curl 7.88's --aws-sigv4 does not add by itself.
EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

TOKEN_SERVICE=re2po-test-registry
TOKEN_ISSUER=re2po-test-issuer

usage() { echo "usage: $0 start|stop|status|env DIR" >&2; exit 2; }

main() {
  [ $# -eq 2 ] || usage
  local cmd="$1"
  # Only start creates DIR; stop/status/env on a missing DIR change nothing.
  if [ "$cmd" = start ]; then mkdir -p "$2"; fi
  if [ ! -d "$2" ]; then
    case "$cmd" in
      stop) return 0 ;;
      status | env) die "$2 does not exist" ;;
      *) usage ;;
    esac
  fi
  DIR="$(cd "$2" && pwd)"
  PIDFILE="$DIR/pids/registry.pid"
  TOKEN_PIDFILE="$DIR/pids/token.pid"
  LOGS="$DIR/log"
  case "$cmd" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) cat "$DIR/registry.env" ;;
    *) usage ;;
  esac
}

# --- helpers ---------------------------------------------------------------

# The listen port: the one start is writing config.yml for, else config.yml's.
port() {
  if [ -n "${LISTEN_PORT:-}" ]; then echo "$LISTEN_PORT"; return; fi
  sed -n 's/^  addr: 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$DIR/config.yml"
}
base_url() { echo "http://127.0.0.1:$(port)"; }

token_port() { echo $(($(port) + 1)); }
token_realm() { echo "http://127.0.0.1:$(token_port)/token"; }

# A token for the probe repository, asked the way clients ask.
probe_token() {
  curl -sS --max-time 10 -u "$TEST_USER:$TEST_PASSWORD" \
    "$(token_realm)?service=$TOKEN_SERVICE&scope=repository:$PROBE_REPO:pull,push,delete" |
    sed -n 's/.*"token": *"\([^"]*\)".*/\1/p'
}

# curl against the registry, with the test user when auth is on.
reg_curl() {
  local auth=()
  [ ! -f "$DIR/htpasswd" ] || auth=(-u "$TEST_USER:$TEST_PASSWORD")
  [ ! -d "$DIR/token" ] || auth=(-H "Authorization: Bearer $(probe_token)")
  curl -sS --max-time 10 -A re2po-engine-check "${auth[@]}" "$@"
}

answers_v2() { [ "$(reg_curl -o /dev/null -w '%{http_code}' "$(base_url)/v2/")" = 200 ]; }

# Loads DIR of ceph.sh's s3.env into S3_* variables.
load_s3_env() {
  local env_file="${RE2PO_CEPH_DIR:?RE2PO_REGISTRY_STORAGE=s3 needs RE2PO_CEPH_DIR (the DIR of ceph.sh)}/s3.env"
  [ -f "$env_file" ] || die "$env_file missing: run tools/engines/ceph.sh start $RE2PO_CEPH_DIR first"
  S3_KEY="$(sed -n 's/^AWS_ACCESS_KEY_ID=//p' "$env_file")"
  S3_SECRET="$(sed -n 's/^AWS_SECRET_ACCESS_KEY=//p' "$env_file")"
  S3_ENDPOINT="$(sed -n 's/^AWS_ENDPOINT_URL=//p' "$env_file")"
  S3_REGION="$(sed -n 's/^AWS_DEFAULT_REGION=//p' "$env_file")"
  S3_BUCKET="${RE2PO_REGISTRY_BUCKET:-re2po-registry}"
}

# The S3 driver does not create its bucket. PUT on a bucket we already own
# answers 200 on RGW, so this is idempotent.
create_bucket() {
  local code
  code="$(curl -sS --max-time 20 -o "$LOGS/bucket.out" -w '%{http_code}' -X PUT \
    --aws-sigv4 "aws:amz:$S3_REGION:s3" -u "$S3_KEY:$S3_SECRET" \
    -H "x-amz-content-sha256: $EMPTY_SHA256" "$S3_ENDPOINT/$S3_BUCKET")" || code=000
  [ "$code" = 200 ] || die "creating bucket $S3_BUCKET at $S3_ENDPOINT: HTTP $code ($(cat "$LOGS/bucket.out" 2>/dev/null))"
}

storage_yaml() {
  if [ "${RE2PO_REGISTRY_STORAGE:-filesystem}" = s3 ]; then
    # regionendpoint makes the driver use path-style URLs on that endpoint;
    # the region is only used for SigV4 signing (RGW accepts any).
    cat <<EOF
  s3:
    accesskey: $S3_KEY
    secretkey: $S3_SECRET
    region: $S3_REGION
    regionendpoint: $S3_ENDPOINT
    bucket: $S3_BUCKET
    secure: false
    v4auth: true
    rootdirectory: /registry
EOF
  else
    cat <<EOF
  filesystem:
    rootdirectory: $DIR/data
EOF
  fi
}

auth_yaml() {
  if [ -d "$DIR/token" ]; then
    cat <<EOF
auth:
  token:
    realm: $(token_realm)
    service: $TOKEN_SERVICE
    issuer: $TOKEN_ISSUER
    rootcertbundle: $DIR/token/cert.pem
EOF
    return 0
  fi
  [ -f "$DIR/htpasswd" ] || return 0
  cat <<EOF
auth:
  htpasswd:
    realm: re2po-test
    path: $DIR/htpasswd
EOF
}

write_config() {
  local port="$1"
  cat >"$DIR/config.yml" <<EOF
# Written by tools/engines/registry.sh: loopback-only test registry.
version: 0.1
log:
  level: info
  # JSON lines on stderr (DIR/log/registry.log); the access log in combined
  # format goes to stdout (DIR/log/access.log).
  formatter: json
  fields:
    service: re2po-test-registry
storage:
$(storage_yaml)
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
  maintenance:
    uploadpurging:
      enabled: false
  redirect:
    disable: false
http:
  addr: 127.0.0.1:$port
  # Fixed: signs upload state; a random one per start only adds a warning.
  secret: re2po-test-registry-secret
  headers:
    X-Content-Type-Options: [nosniff]
$(auth_yaml)
EOF
}

write_env() {
  {
    echo "RE2PO_REGISTRY=127.0.0.1:$(port)"
    echo "RE2PO_REGISTRY_URL=$(base_url)"
    echo "RE2PO_REGISTRY_STORAGE=${RE2PO_REGISTRY_STORAGE:-filesystem}"
    echo "RE2PO_REGISTRY_LOG=$LOGS/registry.log"
    if [ "${RE2PO_REGISTRY_STORAGE:-filesystem}" = s3 ]; then
      echo "RE2PO_REGISTRY_S3_ENDPOINT=$S3_ENDPOINT"
      echo "RE2PO_REGISTRY_S3_BUCKET=$S3_BUCKET"
    fi
    [ ! -d "$DIR/token" ] || echo "RE2PO_REGISTRY_TOKEN_REALM=$(token_realm)"
    if [ -f "$DIR/htpasswd" ] || [ -d "$DIR/token" ]; then
      echo "RE2PO_REGISTRY_USER=$TEST_USER"
      echo "RE2PO_REGISTRY_PASSWORD=$TEST_PASSWORD"
    fi
  } >"$DIR/registry.env"
}

# Starts the registry in the foreground, detached into its own session, and
# records its pid. REGISTRY_* variables in the caller's environment would
# override config.yml (Distribution maps them onto config keys), and
# AWS_CA_BUNDLE would make the S3 driver load a CA file it does not need, so
# both are removed from its environment.
spawn() {
  local unset=() var
  for var in $(compgen -e); do
    case "$var" in REGISTRY_* | AWS_*) unset+=(-u "$var") ;; esac
  done
  setsid env "${unset[@]}" docker-registry serve "$DIR/config.yml" \
    </dev/null >>"$LOGS/access.log" 2>>"$LOGS/registry.log" &
  echo $! >"$PIDFILE"
}

# The token service: a key and its self-signed certificate (which the
# registry trusts), then token_server.py on PORT+1, with the test user in
# its environment, never in its arguments.
start_token_server() {
  ! port_in_use "$(token_port)" || die "port $(token_port) on 127.0.0.1 (the token service) is in use"
  setsid env RE2PO_TOKEN_USER="$TEST_USER" RE2PO_TOKEN_PASSWORD="$TEST_PASSWORD" \
    /usr/bin/python3 "$HERE/token_server.py" --port "$(token_port)" --key "$DIR/token/key.pem" \
    --cert "$DIR/token/cert.pem" --issuer "$TOKEN_ISSUER" </dev/null >>"$LOGS/token.log" 2>&1 &
  echo $! >"$TOKEN_PIDFILE"
}

token_answers() {
  [ "$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "$(token_realm)")" = 401 ]
}

fail_start() {
  log "start failed: $*"
  show_logs "$LOGS/registry.log"
  cmd_stop >/dev/null 2>&1 || true
  exit 1
}

# Blob upload (POST, then PUT ?digest=), HEAD, ranged GET, DELETE.
# filesystem: HEAD 200, ranged GET 206. s3: HEAD and GET answer 307 to
# presigned RGW URLs, which then answer 200 and 206.
blob_round_trip() {
  local blob="$DIR/run/probe.blob" digest location code body
  printf 're2po engine check %s' "$$" >"$blob"
  digest="sha256:$(sha256sum "$blob" | cut -d' ' -f1)"
  location="$(reg_curl -o /dev/null -D - -X POST "$(base_url)/v2/$PROBE_REPO/blobs/uploads/" |
    tr -d '\r' | sed -n 's/^[Ll]ocation: //p')"
  [ -n "$location" ] || { echo "upload POST gave no Location" >&2; return 1; }
  case "$location" in /*) location="$(base_url)$location" ;; esac
  code="$(reg_curl -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/octet-stream' \
    --data-binary @"$blob" "$location&digest=$digest")"
  [ "$code" = 201 ] || { echo "upload PUT: HTTP $code" >&2; return 1; }
  if [ "${RE2PO_REGISTRY_STORAGE:-filesystem}" = s3 ]; then
    # With s3 even HEAD answers 307, to a URL presigned for HEAD (a URL
    # presigned for GET answers HEAD with 403).
    code="$(reg_curl -o /dev/null -w '%{http_code} %{redirect_url}' -I "$(base_url)/v2/$PROBE_REPO/blobs/$digest")"
    case "$code" in "307 $S3_ENDPOINT/"*) ;; *) echo "HEAD blob: expected 307 to $S3_ENDPOINT, got $code" >&2; return 1 ;; esac
    code="$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -I "${code#307 }")"
    [ "$code" = 200 ] || { echo "HEAD on the redirect: HTTP $code" >&2; return 1; }
    code="$(reg_curl -o /dev/null -w '%{http_code} %{redirect_url}' "$(base_url)/v2/$PROBE_REPO/blobs/$digest")"
    case "$code" in "307 $S3_ENDPOINT/"*) ;; *) echo "GET blob: expected 307 to $S3_ENDPOINT, got $code" >&2; return 1 ;; esac
    # Follow without our basic-auth header: the presigned URL carries its own.
    body="$(curl -sS --max-time 10 -r 6-11 -w ' %{http_code}' "${code#307 }")"
  else
    code="$(reg_curl -o /dev/null -w '%{http_code}' -I "$(base_url)/v2/$PROBE_REPO/blobs/$digest")"
    [ "$code" = 200 ] || { echo "HEAD blob: HTTP $code" >&2; return 1; }
    body="$(reg_curl -r 6-11 -w ' %{http_code}' "$(base_url)/v2/$PROBE_REPO/blobs/$digest")"
  fi
  [ "$body" = "engine 206" ] || { echo "ranged GET: got '$body'" >&2; return 1; }
  code="$(reg_curl -o /dev/null -w '%{http_code}' -X DELETE "$(base_url)/v2/$PROBE_REPO/blobs/$digest")"
  [ "$code" = 202 ] || { echo "DELETE blob: HTTP $code" >&2; return 1; }
}

# --- subcommands ---------------------------------------------------------------

cmd_start() {
  local t0 deadline port="${RE2PO_REGISTRY_PORT:-15000}" pid
  t0="$(now)"
  deadline=$((SECONDS + ${RE2PO_REGISTRY_TIMEOUT:-60}))
  case "${RE2PO_REGISTRY_AUTH:-none}" in
    htpasswd) PACKAGES+=(apache2-utils) ;;
    token) PACKAGES+=(openssl python3) ;;
    none | "") ;;
    *) die "RE2PO_REGISTRY_AUTH must be htpasswd, token or none" ;;
  esac
  case "${RE2PO_REGISTRY_STORAGE:-filesystem}" in
    s3) load_s3_env ;;
    filesystem) ;;
    *) die "RE2PO_REGISTRY_STORAGE must be filesystem or s3" ;;
  esac
  ensure_packages "${PACKAGES[@]}"
  if live_pid "$PIDFILE" docker-registry >/dev/null; then
    log "already running in $DIR (stop it first to change its settings)"
    return 0
  fi
  cmd_stop >/dev/null 2>&1 || true
  ! port_in_use "$port" || die "port $port on 127.0.0.1 is in use; set RE2PO_REGISTRY_PORT"
  mkdir -p "$DIR"/{data,log,pids,run}
  rm -rf "$DIR/htpasswd" "$DIR/token"
  if [ "${RE2PO_REGISTRY_AUTH:-none}" = htpasswd ]; then
    # Distribution accepts bcrypt entries only.
    htpasswd -Bbc "$DIR/htpasswd" "$TEST_USER" "$TEST_PASSWORD" 2>/dev/null
  fi
  if [ "${RE2PO_REGISTRY_AUTH:-none}" = token ]; then
    mkdir -p "$DIR/token"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$TOKEN_ISSUER" \
      -keyout "$DIR/token/key.pem" -out "$DIR/token/cert.pem" 2>>"$LOGS/token.log"
  fi
  [ "${RE2PO_REGISTRY_STORAGE:-filesystem}" != s3 ] || create_bucket
  LISTEN_PORT="$port"
  write_config "$port"
  if [ -d "$DIR/token" ]; then
    start_token_server
    until token_answers 2>/dev/null; do
      live_pid "$TOKEN_PIDFILE" python3 >/dev/null || fail_start "token_server.py exited"
      [ "$SECONDS" -lt "$deadline" ] || fail_start "timed out waiting for the token service"
      sleep 0.2
    done
  fi
  spawn
  until answers_v2 2>/dev/null; do
    live_pid "$PIDFILE" docker-registry >/dev/null || fail_start "docker-registry exited"
    [ "$SECONDS" -lt "$deadline" ] || fail_start "timed out waiting for /v2/"
    sleep 0.2
  done
  blob_round_trip || fail_start "blob round trip"
  write_env
  pid="$(cat "$PIDFILE")"
  log "ready in $(elapsed_since "$t0") s: $(base_url) (${RE2PO_REGISTRY_STORAGE:-filesystem}," \
    "auth ${RE2PO_REGISTRY_AUTH:-none}), pid $pid using $(rss_mib "$pid") MiB RSS; env in $DIR/registry.env"
}

cmd_stop() {
  [ -d "$DIR/pids" ] || return 0
  stop_pidfiles docker-registry "$PIDFILE"
  stop_pidfiles python3 "$TOKEN_PIDFILE"
  log "stopped ($DIR)"
}

cmd_status() {
  [ -f "$DIR/config.yml" ] || { log "no registry in $DIR"; return 1; }
  live_pid "$PIDFILE" docker-registry >/dev/null || { log "not running"; return 1; }
  answers_v2 || { log "does not answer /v2/"; return 1; }
  log "running: $(base_url)"
}

main "$@"
