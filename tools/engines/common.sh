# Shared helpers for tools/engines/*.sh. Sourced, not executed.
# shellcheck shell=bash

# A proxy from the caller's environment must never see loopback traffic
# (curl and boto3 honour these), and CEPH_ARGS / CEPH_CONF would be added to
# every ceph command and daemon behind our explicit -c.
export no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
unset CEPH_ARGS CEPH_CONF

log() { echo "${ENGINE_NAME:-engine}: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Seconds since the epoch with a fraction, for "ready in N s" reports.
now() { date +%s.%N; }
elapsed_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# Installs the Debian packages that are not installed yet; a no-op (no apt
# call at all) when everything is present, so repeated starts stay fast.
ensure_packages() {
  local missing=() package
  for package in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$package")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "missing packages (${missing[*]}); run as root to install them"
  log "installing ${missing[*]}"
  with_services_blocked apt_install "${missing[@]}"
}

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  # The lock timeout lets a concurrent apt run (another engine, setup-deps.sh)
  # finish instead of failing this one.
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  # No recommends: ceph-base recommends chrony (a clock daemon) and ceph-mds.
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >/dev/null
}

# Runs "$@" with a policy-rc.d that forbids maintainer scripts to start
# services. Without it, docker-registry's postinst runs
# `invoke-rc.d docker-registry start` on machines without systemd, which
# starts the packaged registry on *:5000 (all interfaces) outside our control.
# An existing policy-rc.d is left alone (it is the admin's); ours is removed
# again even when the install fails.
with_services_blocked() {
  local policy=/usr/sbin/policy-rc.d rc=0
  if [ -e "$policy" ]; then
    "$@"
    return
  fi
  printf '#!/bin/sh\n# temporary, written by re2po tools/engines\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  "$@" || rc=$?
  rm -f "$policy"
  return "$rc"
}

# Stops the processes whose pids are in the given pid files: TERM, wait up to
# 20 s, then KILL. A pid is only signalled while it still runs the expected
# program (argument 1, matched against /proc/PID/comm), so a stale pid file
# whose pid the kernel has reused is never killed. Removes the pid files.
stop_pidfiles() {
  local comm_re="$1" f pid pids=() deadline
  shift
  for f in "$@"; do
    [ -f "$f" ] || continue
    pid="$(cat "$f" 2>/dev/null || true)"
    if [[ "$pid" =~ ^[0-9]+$ ]] && pid_is "$pid" "$comm_re"; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  deadline=$((SECONDS + 20))
  for pid in "${pids[@]}"; do
    while pid_is "$pid" "$comm_re" && [ "$SECONDS" -lt "$deadline" ]; do
      sleep 0.2
    done
    if pid_is "$pid" "$comm_re"; then
      log "pid $pid ignored TERM for 20 s; sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  for pid in "${pids[@]}"; do
    # KILL is not instant for a process in uninterruptible I/O; wait a little.
    for _ in $(seq 50); do pid_is "$pid" "$comm_re" || break; sleep 0.1; done
  done
  rm -f "$@"
}

# True when PID is alive, not a zombie, and its comm matches the regex.
pid_is() {
  local pid="$1" comm_re="$2" comm state
  comm="$(cat "/proc/$pid/comm" 2>/dev/null)" || return 1
  state="$(awk '/^State:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)" || return 1
  [ "$state" != "Z" ] && [[ "$comm" =~ ^($comm_re)$ ]]
}

# Pid read from a pid file, if that process is alive and the expected program.
live_pid() {
  local f="$1" comm_re="$2" pid
  [ -f "$f" ] || return 1
  pid="$(cat "$f" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && pid_is "$pid" "$comm_re" && echo "$pid"
}

# Polls a command until it succeeds or the deadline (SECONDS value) passes.
wait_until() {
  local deadline="$1" what="$2"
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || { log "timed out waiting for $what"; return 1; }
    sleep 0.3
  done
}

# Resident memory of the given pids in MiB, summed.
rss_mib() {
  local total=0 pid kb
  for pid in "$@"; do
    kb="$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)"
    total=$((total + ${kb:-0}))
  done
  echo $((total / 1024))
}

# True when something already listens on 127.0.0.1:PORT (or on any address).
port_in_use() {
  local port="$1"
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

# Shows the last lines of each log, for a failed start.
show_logs() {
  local f
  for f in "$@"; do
    [ -f "$f" ] || continue
    echo "----- tail of $f" >&2
    tail -n 15 "$f" >&2
  done
}
