#!/usr/bin/env bash
# Installs every build and test dependency of Berth on a fresh Debian 12, with apt-get.
# Idempotent and quiet: when every package is already installed it only checks (dpkg -s)
# and returns at once.
set -euo pipefail

PKGS=(
  # build
  cmake ninja-build g++ gcc make pkg-config libc6-dev
  nlohmann-json3-dev libseccomp-dev libcap-dev libcli11-dev libfmt-dev
  libarchive-dev libcurl4-openssl-dev libsqlite3-dev libssl-dev libisal-dev
  libdeflate-dev libzstd-dev libtomlplusplus-dev
  # engine at run time: CNI plugins (networking), iptables (per-network rules),
  # catatonit (--init and pods' infra); aardvark-dns (names on networks)
  containernetworking-plugins iptables catatonit aardvark-dns
  # tests
  libgtest-dev googletest python3 jq iproute2 util-linux procps time
  busybox-static
  # fuzzing
  clang libclang-rt-14-dev
  # peers, drop-in engines and image tools
  runc crun podman containerd conmon uidmap umoci skopeo criu
  docker-registry apache2-utils openssl isal zstd pigz erofs-utils
  # benchmarks
  hyperfine debootstrap
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps.sh: missing packages (${missing[*]}); run as root" >&2
  exit 1
fi
echo "install-deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -qq -o=Dpkg::Use-Pty=0 --no-install-recommends)
if ! apt-get install "${apt_opts[@]}" "${missing[@]}" >/dev/null 2>/tmp/berth-apt.err; then
  apt-get update -qq >/dev/null
  apt-get install "${apt_opts[@]}" "${missing[@]}" >/dev/null
fi
