#!/usr/bin/env bash
# A real single-node Ceph (Debian 12: Pacific 16.2) with an S3 radosgw, for
# Re2po's S3-remote tests and demo. Everything lives under DIR: config, mon
# store, a sparse file that backs the one BlueStore OSD, logs, admin sockets,
# pid files. Nothing is started through systemd and nothing listens on
# anything but 127.0.0.1.
#
#   ceph.sh start  DIR   install missing packages, bring the cluster up (or
#                        restart it from DIR's data), wait until an S3 round
#                        trip works, write DIR/s3.env
#   ceph.sh stop   DIR   stop exactly the daemons whose pids are in DIR/pids
#   ceph.sh status DIR   exit 0 when all daemons run and S3 answers
#   ceph.sh env    DIR   print DIR/s3.env
#
# Environment (read by start when it creates DIR's cluster):
#   RE2PO_CEPH_RGW_PORT  S3 endpoint port (default 17480)
#   RE2PO_CEPH_MON_PORT  monitor msgr2 port (default 13300)
#   RE2PO_CEPH_OSD_SIZE  size of the sparse OSD file (default 4G)
#   RE2PO_CEPH_TIMEOUT   seconds start may take (default 180)
set -euo pipefail

ENGINE_NAME=ceph # log prefix, read by common.sh
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$HERE/common.sh"

PACKAGES=(ceph-mon ceph-osd radosgw ceph-common python3-boto3 curl)
# Fixed test credentials: the cluster is loopback-only and throwaway.
ACCESS_KEY=RE2POTESTACCESSKEY00
SECRET_KEY=re2po-test-secret-key-0000000000000000000
REGION=us-east-1
MON_ID=a
OSD_ID=0
RGW_NAME=client.rgw.re2po
# /proc/PID/comm of each daemon; radosgw names its main thread "radosgw".
DAEMON_COMMS='ceph-mon|ceph-osd|radosgw'

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
  CONF="$DIR/ceph.conf"
  PIDS="$DIR/pids"
  LOGS="$DIR/log"
  case "$cmd" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) cat "$DIR/s3.env" ;;
    *) usage ;;
  esac
}

# --- helpers ---------------------------------------------------------------

# Every ceph CLI call names our config explicitly: /etc/ceph is never read.
ceph_cli() { ceph -c "$CONF" --cluster ceph --connect-timeout 15 "$@"; }
rgw_admin() { radosgw-admin -c "$CONF" --cluster ceph "$@"; }

# Starts one daemon in the foreground (-f), detached into its own session so
# the caller's process group (a test runner, a shell) does not take it down,
# and records its pid ourselves: the pid is known before the daemon has done
# anything, so stop works even after a start that failed half-way.
spawn() {
  local name="$1"
  shift
  setsid "$@" -f -c "$CONF" --cluster ceph </dev/null >>"$LOGS/$name.out" 2>&1 &
  echo $! >"$PIDS/$name.pid"
}

mon_port() { sed -n 's/^mon_host = \[v2:127\.0\.0\.1:\([0-9]*\)\]$/\1/p' "$CONF"; }
rgw_port() { sed -n 's/^rgw_frontends = .*endpoint=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$CONF"; }

all_daemons_running() {
  live_pid "$PIDS/mon.$MON_ID.pid" ceph-mon >/dev/null &&
    live_pid "$PIDS/osd.$OSD_ID.pid" ceph-osd >/dev/null &&
    live_pid "$PIDS/rgw.pid" radosgw >/dev/null
}

osd_up() { ceph_cli osd dump -f json | grep -q '"up":1,'; }

rgw_answers() { curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:$(rgw_port)/"; }

# A signed (SigV4) S3 round trip through boto3, the way the tests talk to it.
# /usr/bin/python3 on purpose: a pyenv python3 first on PATH has no boto3.
# Any AWS_* of the caller (AWS_PROFILE, AWS_SESSION_TOKEN, ...) is dropped
# first: a profile that does not exist makes boto3 fail before any request.
s3_round_trip() {
  # shellcheck disable=SC1091
  (clear_aws_env && set -a && . "$DIR/s3.env" && /usr/bin/python3 - <<'EOF'
import os, boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"],
                  aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                  aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
                  aws_session_token=None, region_name=os.environ["AWS_DEFAULT_REGION"],
                  config=Config(signature_version="s3v4", retries={"max_attempts": 1},
                                connect_timeout=5, read_timeout=10))
# A bucket of its own, removed again, so tests find the S3 namespace empty.
bucket = "re2po-engine-check"
names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
if bucket not in names:
    s3.create_bucket(Bucket=bucket)
s3.put_object(Bucket=bucket, Key="probe", Body=b"0123456789")
got = s3.get_object(Bucket=bucket, Key="probe", Range="bytes=2-5")
assert got["Body"].read() == b"2345", "ranged GET mismatch"
assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
s3.delete_object(Bucket=bucket, Key="probe")
s3.delete_bucket(Bucket=bucket)
EOF
  )
}

clear_aws_env() {
  local var
  for var in $(compgen -e); do
    case "$var" in AWS_*) unset "$var" ;; esac
  done
}

fail_start() {
  log "start failed: $*"
  show_logs "$LOGS"/*.out "$LOGS/ceph-mon.$MON_ID.log" "$LOGS/ceph-osd.$OSD_ID.log" "$LOGS/ceph-$RGW_NAME.log"
  cmd_stop >/dev/null 2>&1 || true
  exit 1
}

# --- bootstrap (first start in an empty DIR) ---------------------------------

write_conf() {
  local fsid="$1" mon_port="$2" rgw_port="$3" osd_size="$4"
  cat >"$CONF" <<EOF
# Written by tools/engines/ceph.sh: a loopback-only, throwaway test cluster.
[global]
fsid = $fsid
mon_host = [v2:127.0.0.1:$mon_port]
mon_initial_members = $MON_ID
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
# msgr2 only: one port for the mon, and the OSD binds 127.0.0.1 only.
ms_bind_msgr1 = false
ms_bind_msgr2 = true
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
# Without this radosgw hangs ~300 s at start (mon client mode negotiation).
ms_mon_client_mode = crc
keyring = $DIR/keyring

# Every path a daemon or client would default to /var or /etc goes into DIR.
run_dir = $DIR/run
admin_socket = $DIR/run/\$cluster-\$name.asok
pid_file = $DIR/run/\$cluster-\$name.pid
log_file = $DIR/log/\$cluster-\$name.log
mon_cluster_log_file = $DIR/log/\$cluster.\$channel.log
crash_dir = $DIR/crash
mon_data = $DIR/mon/\$cluster-\$id
osd_data = $DIR/osd/\$cluster-\$id
rgw_data = $DIR/rgw/\$cluster-\$id
rgw_luarocks_location = $DIR/rgw/luarocks
immutable_object_cache_path = $DIR/run/immutable_object_cache
log_to_stderr = false
err_to_stderr = true

# One OSD, one copy: tiny pools, and none of the warnings a lone OSD raises.
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_delete = true
# The disk hosting DIR may be fuller than Ceph's 30 %/5 % alarms like.
mon_data_avail_warn = 2
mon_data_avail_crit = 1

[client]
# CLI clients run concurrently; one admin socket each, or they collide.
admin_socket = $DIR/run/\$cluster-\$name.\$pid.asok

[mon]
# Every pool radosgw creates costs 2-3 osdmap commits, and a commit waits for
# paxos_propose_interval (1 s): 0.05 s takes ~10 s off a first start.
paxos_propose_interval = 0.05
paxos_min_wait = 0.01
# No ceph-mgr is run: it would add ~150 MB and Python for nothing S3 needs.
mon_warn_on_insecure_global_id_reclaim_allowed = false

[osd]
osd_objectstore = bluestore
bluestore_block_path = $DIR/osd/block
bluestore_block_create = true
bluestore_block_size = $osd_size
bluestore_fsck_on_mkfs = false
bluestore_fsck_on_mount = false
# Keep memory low: fixed small caches instead of autotuning towards 4 GiB.
bluestore_cache_autotune = false
bluestore_cache_size = 64M
osd_memory_target = 256M
osd_memory_cache_min = 32M
osd_op_num_shards = 1
osd_op_num_threads_per_shard = 2
osd_crush_update_on_start = true

[$RGW_NAME]
# tcp_nodelay=1: without it Nagle delays small ranged GETs to ~43 ms.
admin_socket = $DIR/run/\$cluster-\$name.asok
rgw_frontends = beast endpoint=127.0.0.1:$rgw_port tcp_nodelay=1
rgw_thread_pool_size = 32
rgw_dns_name = 127.0.0.1
rgw_enable_usage_log = false
rgw_init_timeout = 120
EOF
}

bootstrap() {
  local mon_port="${RE2PO_CEPH_MON_PORT:-13300}" rgw_port="${RE2PO_CEPH_RGW_PORT:-17480}"
  local osd_size="${RE2PO_CEPH_OSD_SIZE:-4G}" fsid osd_uuid
  check_ports "$mon_port" "$rgw_port"
  fsid="$(cat /proc/sys/kernel/random/uuid)"
  osd_uuid="$(cat /proc/sys/kernel/random/uuid)"
  mkdir -p "$DIR"/{run,log,crash,mon,osd,rgw,pids}
  : >"$DIR/keyring"
  write_conf "$fsid" "$mon_port" "$rgw_port" "$osd_size"

  monmaptool --create --clobber --fsid "$fsid" \
    --addv "$MON_ID" "[v2:127.0.0.1:$mon_port]" "$DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" --cluster ceph -i "$MON_ID" --mkfs --monmap "$DIR/monmap" \
    >>"$LOGS/mkfs.out" 2>&1 || fail_start "ceph-mon --mkfs"
  spawn "mon.$MON_ID" ceph-mon -i "$MON_ID"
  wait_daemon "mon.$MON_ID" ceph-mon "the monitor" ceph_cli mon stat

  [ "$(ceph_cli osd new "$osd_uuid")" = "$OSD_ID" ] || fail_start "osd new did not return id $OSD_ID"
  mkdir -p "$DIR/osd/ceph-$OSD_ID"
  ceph-osd -c "$CONF" --cluster ceph -i "$OSD_ID" --mkfs --osd-uuid "$osd_uuid" \
    >>"$LOGS/mkfs.out" 2>&1 || fail_start "ceph-osd --mkfs"
  touch "$DIR/bootstrapped"
}

# A bootstrap that failed half-way leaves a mon store or OSD that cannot be
# resumed; remove exactly what bootstrap creates (logs are kept) and redo it.
wipe_unfinished_bootstrap() {
  [ -e "$CONF" ] || return 0
  log "removing an unfinished bootstrap in $DIR"
  rm -rf "$CONF" "$DIR/monmap" "$DIR/keyring" "$DIR/s3.env" \
    "$DIR"/{run,crash,mon,osd,rgw}
}

# --- subcommands ---------------------------------------------------------------

cmd_start() {
  local pids
  T0="$(now)"
  DEADLINE=$((SECONDS + ${RE2PO_CEPH_TIMEOUT:-180}))
  ensure_packages "${PACKAGES[@]}"
  if all_daemons_running && cmd_status 2>/dev/null; then
    log "already running in $DIR"
    return 0
  fi
  # Leftovers of a crashed or half-started run: stop what we recorded.
  cmd_stop >/dev/null 2>&1 || true
  mkdir -p "$PIDS" "$LOGS"
  if [ -f "$DIR/bootstrapped" ]; then
    log "restarting the cluster kept in $DIR"
    check_ports "$(mon_port)" "$(rgw_port)"
    spawn "mon.$MON_ID" ceph-mon -i "$MON_ID"
    wait_daemon "mon.$MON_ID" ceph-mon "the monitor" ceph_cli mon stat
  else
    wipe_unfinished_bootstrap
    bootstrap
  fi
  spawn "osd.$OSD_ID" ceph-osd -i "$OSD_ID"
  wait_daemon "osd.$OSD_ID" ceph-osd "osd.$OSD_ID up" osd_up
  spawn rgw radosgw -n "$RGW_NAME"
  wait_daemon rgw radosgw "radosgw on port $(rgw_port)" rgw_answers
  ensure_user
  write_env
  wait_daemon rgw radosgw "an S3 round trip" s3_round_trip
  mapfile -t pids < <(cat "$PIDS"/*.pid)
  log "ready in $(elapsed_since "$T0") s: S3 at http://127.0.0.1:$(rgw_port)," \
    "daemons ${pids[*]} using $(rss_mib "${pids[@]}") MiB RSS; env in $DIR/s3.env"
}

# Waits until CHECK succeeds while the daemon NAME still runs; fails the start
# at once when the daemon has died and after the overall deadline otherwise.
wait_daemon() {
  local name="$1" comm="$2" what="$3"
  shift 3
  until "$@" >/dev/null 2>&1; do
    live_pid "$PIDS/$name.pid" "$comm" >/dev/null || fail_start "$name exited while waiting for $what"
    if [ "$SECONDS" -ge "$DEADLINE" ]; then
      "$@" >&2 || true # once more, to show why it fails
      fail_start "timed out waiting for $what"
    fi
    sleep 0.3
  done
  log "$what: ok at $(elapsed_since "$T0") s"
}

check_ports() {
  local port
  for port in "$@"; do
    ! port_in_use "$port" ||
      die "port $port on 127.0.0.1 is in use; set RE2PO_CEPH_MON_PORT / RE2PO_CEPH_RGW_PORT"
  done
}

ensure_user() {
  rgw_admin user info --uid=re2po >/dev/null 2>&1 && return 0
  rgw_admin user create --uid=re2po --display-name="Re2po tests" \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >>"$LOGS/user.out" 2>&1 ||
    fail_start "radosgw-admin user create"
}

write_env() {
  cat >"$DIR/s3.env" <<EOF
AWS_ACCESS_KEY_ID=$ACCESS_KEY
AWS_SECRET_ACCESS_KEY=$SECRET_KEY
AWS_ENDPOINT_URL=http://127.0.0.1:$(rgw_port)
AWS_DEFAULT_REGION=$REGION
AWS_REGION=$REGION
EOF
}

cmd_stop() {
  [ -d "$PIDS" ] || return 0
  # radosgw first so it does not retry against a vanishing OSD, mon last.
  stop_pidfiles "$DAEMON_COMMS" "$PIDS/rgw.pid"
  stop_pidfiles "$DAEMON_COMMS" "$PIDS/osd.$OSD_ID.pid"
  stop_pidfiles "$DAEMON_COMMS" "$PIDS"/*.pid
  log "stopped ($DIR)"
}

cmd_status() {
  [ -f "$CONF" ] || { log "no cluster in $DIR"; return 1; }
  all_daemons_running || { log "not all daemons run"; return 1; }
  rgw_answers || { log "radosgw does not answer"; return 1; }
  s3_round_trip >/dev/null 2>&1 || { log "S3 round trip fails"; return 1; }
  log "running: S3 at http://127.0.0.1:$(rgw_port)"
}

main "$@"
