#!/usr/bin/env bash
# Installs every Debian 12 package that Re2po's build, tests and benchmarks
# need. Idempotent: installs only what is missing, so a second run is quick.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git clang libclang-rt-14-dev
  libfuse3-dev fuse3 librocksdb-dev libzstd-dev zstd libsnappy-dev libhdf5-dev libxxhash-dev
  libspdlog-dev libfmt-dev libssl-dev libcurl4-openssl-dev libcli11-dev nlohmann-json3-dev
  libcpp-httplib-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-numpy python3-torch python3-torchvision python3-onnx python3-h5py python3-mypy
  fio attr util-linux e2fsprogs python3-yaml systemd man-db groff dpkg-dev file
)
PACKAGES+=("$@")

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
elif [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages (${missing[*]}); run as root to install them" >&2
  exit 1
else
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
  echo "setup: done"
fi

# The real engines the fleet tests and the demo start (tools/engines): a
# single-node Ceph for S3. Installed without recommends, and with their
# services kept from starting at install (tools/engines/common.sh).
ENGINE_NAME=setup
# shellcheck source=engines/common.sh
. "$(dirname "$0")/engines/common.sh"
ensure_packages ceph-mon ceph-osd radosgw ceph-common python3-boto3 curl

# The OCI registry the registry-remote tests start (tools/engines/registry.sh:
# Distribution 2.8, whose package would start a server on *:5000), skopeo to
# copy a repository between two of them, htpasswd for the auth test.
ensure_packages docker-registry skopeo apache2-utils

# promtool, which the observability test runs (`promtool check metrics`) on a
# scrape of the mount's endpoint; nothing else of the package is used. Its
# postinst would start a Prometheus server on *:9090, hence ensure_packages
# (services kept from starting).
ensure_packages prometheus
