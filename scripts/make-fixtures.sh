#!/usr/bin/env bash
# Builds Berth's test fixtures offline from Debian packages (no registry needed):
#
#   $BERTH_FIXTURES/busybox-rootfs       busybox-static rootfs, one symlink per applet,
#                                        /etc/passwd + /etc/group (root, nobody, berth 1000:1000)
#   $BERTH_FIXTURES/bundle-busybox       OCI bundle: that rootfs + `runc spec` config.json,
#                                        args ["/bin/true"], terminal false
#   $BERTH_FIXTURES/oci-busybox          OCI image layout (tag "latest") of the same rootfs
#   $BERTH_FIXTURES/oci-busybox.tar      the same layout as an oci-archive (for `ctr images import`)
#
# With --debian (the pull benchmark's image; needs debootstrap and the machine's Debian mirror):
#   $BERTH_FIXTURES/debian-rootfs        debootstrap --variant=minbase bookworm (+ python3, perl, curl)
#   $BERTH_FIXTURES/oci-debian           OCI image layout (tag "bookworm"), 4 gzip layers:
#                                        /usr/lib*, /usr/share, the rest of /usr, everything else
#
# Rerunnable: each step is skipped when its output exists; FORCE=1 rebuilds everything.
# Needs: busybox-static runc umoci python3 (scripts/install-deps.sh).
set -euo pipefail

DATA=${BERTH_FIXTURES:-/var/tmp/berth-fixtures}
FORCE=${FORCE:-0}
DEBIAN=0
[[ ${1:-} == --debian ]] && DEBIAN=1
VERSION=2  # bump when the content of the fixtures changes
mkdir -p "$DATA"
log() { printf '== make-fixtures: %s\n' "$*" >&2; }

stamp() { [[ $FORCE != 1 && -f $DATA/.$1.v$VERSION ]]; }
done_stamp() { rm -f "$DATA/.$1".v*; touch "$DATA/.$1.v$VERSION"; }

# ---------------------------------------------------------------- busybox rootfs
ROOTFS=$DATA/busybox-rootfs
if ! stamp rootfs; then
  log "busybox rootfs -> $ROOTFS"
  rm -rf "$ROOTFS"
  mkdir -p "$ROOTFS"/{bin,sbin,etc,proc,sys,dev,tmp,root,home/berth,var/tmp,usr/bin,usr/sbin}
  chmod 1777 "$ROOTFS/tmp" "$ROOTFS/var/tmp"
  cp /bin/busybox "$ROOTFS/bin/busybox"
  for a in $("$ROOTFS/bin/busybox" --list); do
    [[ $a == busybox ]] || ln -sf busybox "$ROOTFS/bin/$a"
  done
  cat > "$ROOTFS/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
berth:x:1000:1000:berth test user:/home/berth:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
  cat > "$ROOTFS/etc/group" <<'G'
root:x:0:
berth:x:1000:
nogroup:x:65534:
G
  chown 1000:1000 "$ROOTFS/home/berth"
  echo busybox > "$ROOTFS/etc/hostname"
  done_stamp rootfs
  rm -f "$DATA"/.bundle.v* "$DATA"/.oci.v*
fi

# ---------------------------------------------------------------- runtime bundle
BUNDLE=$DATA/bundle-busybox
if ! stamp bundle; then
  log "OCI bundle -> $BUNDLE"
  rm -rf "$BUNDLE"
  mkdir -p "$BUNDLE"
  cp -a "$ROOTFS" "$BUNDLE/rootfs"
  (cd "$BUNDLE" && runc spec)
  python3 - "$BUNDLE/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["args"] = ["/bin/true"]
c["process"]["terminal"] = False
json.dump(c, open(p, "w"), indent=2)
PY
  done_stamp bundle
fi

# ---------------------------------------------------------------- OCI image layout + archive
OCI=$DATA/oci-busybox
if ! stamp oci; then
  log "OCI image layout -> $OCI:latest (+ $OCI.tar)"
  rm -rf "$OCI" "$OCI.tar"
  umoci init --layout "$OCI"
  umoci new --image "$OCI:latest"
  tmp=$(mktemp -d "$DATA/tmp.XXXXXX")
  tar --numeric-owner --sort=name -C "$ROOTFS" -cf "$tmp/layer.tar" .
  umoci raw add-layer --image "$OCI:latest" --history.created_by "make-fixtures.sh busybox-static" "$tmp/layer.tar"
  umoci config --image "$OCI:latest" --config.cmd /bin/sh --config.env PATH=/bin:/sbin:/usr/bin:/usr/sbin
  rm -rf "$tmp"
  umoci gc --layout "$OCI"
  tar -C "$OCI" -cf "$OCI.tar" oci-layout index.json blobs
  done_stamp oci
fi

# ---------------------------------------------------------------- Debian image (--debian)
[[ $DEBIAN == 1 ]] || exit 0
# The Debian mirror this machine already uses (first URIs:/deb line of its apt sources).
MIRROR=${MIRROR:-$(awk '/^URIs:/{print $2; exit} /^deb /{print $2; exit}' \
  /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | head -1)}
SUITE=${SUITE:-bookworm}
DEB_INCLUDE=${DEB_INCLUDE:-python3-minimal,libpython3.11-stdlib,perl,ca-certificates,curl}
DEB_ROOTFS=$DATA/debian-rootfs
OCI_DEB=$DATA/oci-debian
if ! stamp debian-rootfs; then
  log "debootstrap --variant=minbase $SUITE from $MIRROR -> $DEB_ROOTFS"
  rm -rf "$DEB_ROOTFS"
  debootstrap --variant=minbase --include="$DEB_INCLUDE" "$SUITE" "$DEB_ROOTFS" "$MIRROR" \
    >"$DATA/debootstrap.log" 2>&1 || { tail -20 "$DATA/debootstrap.log" >&2; exit 1; }
  # Image hygiene as the official images: no apt lists or caches, logs, device nodes.
  rm -rf "$DEB_ROOTFS"/var/lib/apt/lists/* "$DEB_ROOTFS"/var/cache/apt/*.bin \
    "$DEB_ROOTFS"/var/cache/apt/archives/*.deb "$DEB_ROOTFS"/var/log/* \
    "$DEB_ROOTFS"/dev/* "$DEB_ROOTFS"/proc/* "$DEB_ROOTFS"/sys/* 2>/dev/null || true
  done_stamp debian-rootfs
  rm -f "$DATA"/.oci-debian.v*
fi
if ! stamp oci-debian; then
  log "OCI image layout -> $OCI_DEB:$SUITE (4 layers)"
  rm -rf "$OCI_DEB"
  umoci init --layout "$OCI_DEB"
  umoci new --image "$OCI_DEB:$SUITE"
  tmp=$(mktemp -d "$DATA/tmp.XXXXXX")
  T=(tar --numeric-owner --xattrs --sort=name -C "$DEB_ROOTFS")
  "${T[@]}" -cf "$tmp/l1.tar" $(cd "$DEB_ROOTFS" && ls -d ./usr/lib*)
  "${T[@]}" -cf "$tmp/l2.tar" ./usr/share
  "${T[@]}" -cf "$tmp/l3.tar" --exclude='./usr/lib*' --exclude=./usr/share ./usr
  "${T[@]}" -cf "$tmp/l4.tar" --exclude=./usr .
  for l in l1 l2 l3 l4; do
    umoci raw add-layer --image "$OCI_DEB:$SUITE" --history.created_by "make-fixtures.sh $l" "$tmp/$l.tar"
  done
  umoci config --image "$OCI_DEB:$SUITE" --config.cmd /bin/bash \
    --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  rm -rf "$tmp"
  umoci gc --layout "$OCI_DEB"
  done_stamp oci-debian
fi
