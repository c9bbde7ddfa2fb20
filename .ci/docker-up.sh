#!/usr/bin/env bash
# Bring up everything the container test tier needs on a bare Debian bookworm machine:
#   1. the Debian packages (docker.io, docker-compose, docker-registry, debootstrap, make),
#   2. a Docker daemon (dockerd in the background, waited for with a bound),
#   3. a local registry on 127.0.0.1:5000 (own config, temporary storage, no auth),
#   4. a local stand-in for python:3.11-slim, because no image registry is reachable:
#      a debootstrap'ed bookworm (python3 3.11, venv, pip, ca-certificates, passwd) with
#      the host's CA bundle (the TLS proxy's CA) copied in, imported as $BASE_IMAGE.
#
# Idempotent: every step is skipped when already done. The debootstrap root file system
# is cached as a tarball under $CACHE_DIR, so a second run on the same machine is fast.
#
# Usage: bash .ci/docker-up.sh        (as root)
# Env:   BASE_IMAGE (default local/python:3.11-slim), REGISTRY_ADDR (127.0.0.1:5000),
#        CACHE_DIR (/var/cache/kedro-dask-starter), DEBIAN_MIRROR, DOCKER_WAIT (seconds, 90)
set -euo pipefail

BASE_IMAGE="${BASE_IMAGE:-local/python:3.11-slim}"
REGISTRY_ADDR="${REGISTRY_ADDR:-127.0.0.1:5000}"
CACHE_DIR="${CACHE_DIR:-/var/cache/kedro-dask-starter}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DOCKER_WAIT="${DOCKER_WAIT:-90}"
RUN_DIR="${RUN_DIR:-/run/kedro-dask-starter}"
HOST_CA="/etc/ssl/certs/ca-certificates.crt"
ROOTFS_TAR="$CACHE_DIR/rootfs-bookworm-python3.tar"

say() { printf '[docker-up] %s\n' "$*"; }
die() {
    printf '[docker-up] ERROR: %s\n' "$*" >&2
    exit 1
}

[ "$(id -u)" -eq 0 ] || die "run as root (it installs packages and starts dockerd)."
mkdir -p "$CACHE_DIR" "$RUN_DIR"

# 1. Debian packages ---------------------------------------------------------------------
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1 || missing+=(docker-compose)
command -v docker-registry >/dev/null || missing+=(docker-registry)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v make >/dev/null || missing+=(make) # the generated Makefile drives the tests
if [ "${#missing[@]}" -gt 0 ]; then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    timeout 600 apt-get update -qq || die "apt-get update failed (is the Debian mirror reachable?)"
    timeout 900 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
        die "apt-get install ${missing[*]} failed"
else
    say "packages present"
fi

# 2. Docker daemon -----------------------------------------------------------------------
if docker info >/dev/null 2>&1; then
    say "docker daemon already answering"
else
    if [ -s /var/run/docker.pid ] && kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
        say "dockerd is running but not answering yet; waiting for it"
        cp /var/run/docker.pid "$RUN_DIR/dockerd.pid"
    else
        say "starting dockerd (log: /var/log/dockerd-ci.log)"
        nohup dockerd >/var/log/dockerd-ci.log 2>&1 &
        echo $! >"$RUN_DIR/dockerd.pid"
    fi
    deadline=$((SECONDS + DOCKER_WAIT))
    until docker info >/dev/null 2>&1; do
        if ! kill -0 "$(cat "$RUN_DIR/dockerd.pid")" 2>/dev/null; then
            tail -20 /var/log/dockerd-ci.log >&2 || true
            die "dockerd exited while starting; see /var/log/dockerd-ci.log"
        fi
        [ "$SECONDS" -lt "$deadline" ] || {
            tail -20 /var/log/dockerd-ci.log >&2 || true
            die "docker info did not answer within ${DOCKER_WAIT}s"
        }
        sleep 1
    done
    say "docker daemon up: $(docker info --format '{{.ServerVersion}} / {{.Driver}}')"
fi

# 3. Local registry ----------------------------------------------------------------------
registry_up() {
    python3 - "$REGISTRY_ADDR" <<'PY' >/dev/null 2>&1
import sys, urllib.request
urllib.request.urlopen(f"http://{sys.argv[1]}/v2/", timeout=3)
PY
}
if registry_up; then
    say "registry already answering on $REGISTRY_ADDR"
else
    storage="$(mktemp -d /tmp/ci-registry.XXXXXX)"
    config="$RUN_DIR/registry.yml"
    cat >"$config" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $storage
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
EOF
    say "starting registry on $REGISTRY_ADDR (storage $storage, log /var/log/registry-ci.log)"
    nohup docker-registry serve "$config" >/var/log/registry-ci.log 2>&1 &
    echo $! >"$RUN_DIR/registry.pid"
    deadline=$((SECONDS + 30))
    until registry_up; do
        kill -0 "$(cat "$RUN_DIR/registry.pid")" 2>/dev/null || {
            tail -20 /var/log/registry-ci.log >&2 || true
            die "docker-registry exited; see /var/log/registry-ci.log"
        }
        [ "$SECONDS" -lt "$deadline" ] || die "registry did not answer on $REGISTRY_ADDR within 30s"
        sleep 0.5
    done
fi

# 4. Local base image --------------------------------------------------------------------
if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    say "base image $BASE_IMAGE present"
else
    if [ ! -s "$ROOTFS_TAR" ]; then
        rootfs="$(mktemp -d /tmp/ci-rootfs.XXXXXX)"
        say "debootstrap bookworm into $rootfs (about a minute)"
        timeout 900 debootstrap --variant=minbase \
            --include=python3,python3-venv,python3-pip,ca-certificates,passwd \
            bookworm "$rootfs" "$DEBIAN_MIRROR" >/var/log/debootstrap-ci.log 2>&1 || {
            tail -20 /var/log/debootstrap-ci.log >&2 || true
            die "debootstrap failed; see /var/log/debootstrap-ci.log"
        }
        # Keep the image small: apt lists and caches are not needed at run time.
        rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
            "$rootfs"/var/cache/apt/archives/*.deb
        tar -C "$rootfs" --numeric-owner -cf "$ROOTFS_TAR.part" .
        mv "$ROOTFS_TAR.part" "$ROOTFS_TAR"
        rm -rf "$rootfs"
        say "cached root file system: $ROOTFS_TAR"
    else
        say "using cached root file system $ROOTFS_TAR"
    fi
    # The host CA bundle (with the TLS proxy's CA) goes in at import time, not into the
    # cache, so a changed bundle is picked up on the next import.
    work="$(mktemp -d /tmp/ci-rootfs.XXXXXX)"
    tar -C "$work" --numeric-owner -xf "$ROOTFS_TAR"
    if [ -s "$HOST_CA" ]; then
        cp "$HOST_CA" "$work/etc/ssl/certs/ca-certificates.crt"
    else
        say "warning: $HOST_CA not found; containers may not reach PyPI through a TLS proxy"
    fi
    say "importing $BASE_IMAGE"
    tar -C "$work" --numeric-owner -c . | docker import \
        -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        -c 'ENV LANG=C.UTF-8' \
        -c 'CMD ["python3"]' \
        -m "debootstrap bookworm minbase + python3 (local stand-in for python:3.11-slim)" \
        - "$BASE_IMAGE" >/dev/null || die "docker import of $BASE_IMAGE failed"
    rm -rf "$work"
fi
docker run --rm "$BASE_IMAGE" python3 -c 'import sys, venv; assert sys.version_info[:2] == (3, 11), sys.version' ||
    die "$BASE_IMAGE does not run python3 3.11"

say "ready: docker $(docker info --format '{{.ServerVersion}}'), registry $REGISTRY_ADDR, base $BASE_IMAGE"
