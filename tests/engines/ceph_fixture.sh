#!/usr/bin/env bash
# The ctest fixture behind the remote tests: one real Ceph with radosgw
# (tools/engines/ceph.sh) for the whole run, in DIR.
#
#   ceph_fixture.sh start DIR   bring it up (or reuse the one running in DIR)
#   ceph_fixture.sh stop DIR    stop it; DIR's data is kept for the next run
#
# A machine that cannot run Ceph (not root, no packages, ports taken) must not
# fail CI: start then writes the reason to DIR/unavailable and exits 0, and
# every test that needs Ceph skips, printing that reason.
#
# A new cluster gets free ports near 17580 (S3) and 13400 (mon), so a Ceph
# someone runs on ceph.sh's defaults (17480, 13300) is left alone; set
# RE2PO_CEPH_RGW_PORT / RE2PO_CEPH_MON_PORT to choose.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ENGINE="$HERE/../../tools/engines/ceph.sh"

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The first port from $1 on that nothing listens on, and not $2.
free_port() {
  local port="$1" avoid="${2:-}"
  while port_in_use "$port" || [ "$port" = "$avoid" ]; do port=$((port + 1)); done
  echo "$port"
}

unavailable() {
  printf '%s\n' "$*" >"$DIR/unavailable"
  echo "ceph fixture: Ceph unavailable, the remote tests will skip: $*" >&2
  exit 0
}

# Runs ceph.sh start with its output both shown (ctest keeps it) and kept.
try_start() {
  "$ENGINE" start "$DIR" 2>&1 | tee "$DIR/fixture-start.log"
  return "${PIPESTATUS[0]}"
}

start() {
  rm -f "$DIR/unavailable"
  [ "$(id -u)" -eq 0 ] || unavailable "not root (ceph.sh installs packages and runs the daemons as root)"
  if [ ! -f "$DIR/ceph.conf" ]; then
    local rgw_port mon_port
    rgw_port="${RE2PO_CEPH_RGW_PORT:-$(free_port 17580)}"
    mon_port="${RE2PO_CEPH_MON_PORT:-$(free_port 13400 "$rgw_port")}"
    export RE2PO_CEPH_RGW_PORT="$rgw_port" RE2PO_CEPH_MON_PORT="$mon_port"
  fi
  try_start && exit 0
  # A kept cluster that will not come back (its ports taken since, or its
  # data damaged by a killed run) is thrown away and made anew, once.
  if [ -f "$DIR/bootstrapped" ]; then
    echo "ceph fixture: the cluster kept in $DIR did not start; starting a new one" >&2
    "$ENGINE" stop "$DIR" >/dev/null 2>&1 || true
    find "$DIR" -mindepth 1 -maxdepth 1 ! -name fixture-start.log -exec rm -rf {} +
    exec "$0" start "$DIR"
  fi
  unavailable "tools/engines/ceph.sh start $DIR failed:
$(tail -n 20 "$DIR/fixture-start.log")"
}

[ $# -eq 2 ] || usage
mkdir -p "$2" || exit 0
DIR="$(cd "$2" && pwd)"
case "$1" in
  start) start ;;
  stop) exec "$ENGINE" stop "$DIR" ;;
  *) usage ;;
esac
