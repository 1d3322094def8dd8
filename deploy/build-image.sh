#!/usr/bin/env bash
# `make image`: build the paritycheck image from Debian's packages and PyPI, with no container registry.
#
# 1. mmdebstrap makes a Debian 12 base from Debian's packages: minbase with debian:bookworm-slim's
#    path excludes (no docs, man pages or locales), merged /usr without the usrmerge package (and so
#    without perl). buildah stores it as $BASE. Made once; REBUILD_BASE=1 makes it again (security updates).
# 2. buildah builds ./Dockerfile on it. Neither tool needs a daemon; chroot isolation needs no OCI
#    runtime either (crun refuses this machine's hybrid cgroups).
# Both are Debian packages, installed here when missing (as root or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

SUITE=bookworm
BASE="${PARITYCHECK_BASE:-localhost/paritycheck-base:$SUITE}"
VERSION="$(python3 -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')"
IMAGE="${PARITYCHECK_IMAGE:-localhost/paritycheck:$VERSION}"
export BUILDAH_ISOLATION=chroot

missing=""
for tool in mmdebstrap buildah; do
    command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo -n"
    LOCK=""
    command -v flock >/dev/null 2>&1 && LOCK="flock /tmp/apt.lock"
    echo "build-image: installing Debian's$missing"
    # shellcheck disable=SC2086
    $SUDO $LOCK apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO $LOCK apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

start=$(date +%s)
if [ -n "${REBUILD_BASE:-}" ] || ! buildah inspect --type image "$BASE" >/dev/null 2>&1; then
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    echo "build-image: making the $SUITE base with mmdebstrap"
    # No mirror given: mmdebstrap takes Debian's, with the suite's updates and security archives. Its
    # apt and dpkg output goes to a log, shown only if it fails.
    mmdebstrap --quiet --variant=minbase \
        --hook-dir=/usr/share/mmdebstrap/hooks/maybe-merged-usr \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/info/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --dpkgopt='path-exclude=/usr/share/lintian/*' \
        "$SUITE" "$work/base.tar" >"$work/mmdebstrap.log" 2>&1 \
        || { cat "$work/mmdebstrap.log"; exit 1; }
    container="$(buildah from scratch)"
    buildah add --quiet "$container" "$work/base.tar" / >/dev/null
    buildah config --cmd /bin/bash "$container"
    buildah commit --quiet --rm "$container" "$BASE" >/dev/null
fi
base_done=$(date +%s)

# The machine's trust store reaches pip as a build secret: a TLS-inspecting proxy's CA works, and is
# never stored in the image.
CA="${PARITYCHECK_BUILD_CA:-/etc/ssl/certs/ca-certificates.crt}"
secret=()
[ -s "$CA" ] && secret=(--secret "id=ca,src=$CA")
buildah build --quiet --layers "${secret[@]}" --build-arg BASE="$BASE" --build-arg VERSION="$VERSION" \
    --tag "$IMAGE" --tag localhost/paritycheck:latest . >/dev/null
done=$(date +%s)

echo "build-image: $IMAGE built in $((done - start)) s (base $((base_done - start)) s, image $((done - base_done)) s)"
buildah images --format '{{.Name}}:{{.Tag}} {{.Size}}' "$IMAGE"
