#!/usr/bin/env bash
# `make docker-check`: build the repository's Dockerfile for real and run a fit inside the image, on a machine
# where no base image can be pulled (docker/README.md). As root; needs debootstrap and buildah.
#   1. rootfs   debootstrap Debian bookworm (Python 3.11) into a tarball          (cached: $CACHE/rootfs-*)
#   2. base     docker/Containerfile.base on it: a venv on PATH with the CPU torch pip installs here
#                                                                           (cached: the image, tagged by recipe)
#   3. image    the Dockerfile, unchanged, with --build-arg BASE=<that base>   (cached: buildah's layers)
#   4. fit      in the image, as its user, in an empty folder (a host folder mounted on /work): a one-epoch CPU
#               fit; its summary.json must exist
#   5. watch    `lightning-spectra-watch --help` in the image
# pip's sources on this machine (wheel folders, file:// indexes: environment first, then `pip config`, as the
# Makefile reads them) are bind-mounted read-only into steps 2-3 with a pip.conf in /etc/xdg/pip; the images keep
# none of them. Steps 4-5 use `podman run` (with runc: see below) where podman and runc are installed, else
# `buildah run --isolation chroot` (RUNNER=podman or buildah chooses).
# Settings (environment): PYTHON, TORCH, SUITE, DEBIAN_MIRROR, DOCKER_CHECK_CACHE, IMAGE, FIT_ARGS, RUNNER.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
PYTHON=${PYTHON:-python3}
TORCH=${TORCH:-torch==2.13.0}
SUITE=${SUITE:-bookworm}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE=${DOCKER_CHECK_CACHE:-/var/cache/lightning-spectra-docker}
IMAGE=${IMAGE:-localhost/lightning-spectra:check}
FIT_ARGS=${FIT_ARGS:-fit --config cnn --trainer.max_epochs 1 --trainer.accelerator cpu}
RUNNER=${RUNNER:-auto}
# python3-distutils: debootstrap resolves no virtual package (python3.11-venv depends on python3.11-distutils)
INCLUDE=ca-certificates,python3.11,python3.11-venv,python3-distutils

start=$(date +%s)
phase_start=$start
phase() { phase_start=$(date +%s); printf '\n==> [%s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
phase_done() { printf '<== %s: %d s\n' "$1" "$(($(date +%s) - phase_start))"; }
die() { printf 'docker-check: %s\n' "$*" >&2; exit 1; }
image_exists() { buildah inspect --type image "$1" >/dev/null 2>&1; }
image_id() { buildah inspect --type image --format '{{.FromImageID}}' "$1" 2>/dev/null || true; }
key() { sha256sum | cut -c1-12; }

[[ $(id -u) == 0 ]] || die "run as root (debootstrap and buildah's chroot isolation need it)"
for tool in debootstrap buildah; do
    command -v "$tool" >/dev/null || die "$tool is missing: apt-get install -y debootstrap buildah"
done
mkdir -p "$CACHE"

# --- pip's sources on this machine, handed to the builds --------------------------------------------------
pip_setting() {  # environment variable, else `pip config get global.<key>`; one line, space-separated
    local env=$1 key=$2
    if [[ -n ${!env:-} ]]; then
        printf '%s\n' "${!env}"
    else
        "$PYTHON" -m pip config get "global.$key" 2>/dev/null || true
    fi | tr '\n' ' ' | sed 's/ *$//'
}
find_links=$(pip_setting PIP_FIND_LINKS find-links)
index_url=$(pip_setting PIP_INDEX_URL index-url)
extra_index_url=$(pip_setting PIP_EXTRA_INDEX_URL extra-index-url)
cert=$(pip_setting PIP_CERT cert)

mounts=()
mount_ro() { if [[ -d $1 ]]; then mounts+=(-v "$1:$1:ro"); fi; }
for link in $find_links; do
    link=${link#file://}
    if [[ $link == /* ]]; then mount_ro "$link"; fi
done
for url in $index_url $extra_index_url; do
    [[ $url == file://* ]] || continue
    path=${url#file://}
    path=${path%/}
    if [[ $(basename "$path") == simple ]]; then path=$(dirname "$path"); fi  # the root: simple/ links to ../../files
    mount_ro "$path"
done
pipdir=$CACHE/pip
rm -rf "$pipdir" && mkdir -p "$pipdir"
{
    echo "[global]"
    if [[ -n $find_links ]]; then echo "find-links = $find_links"; fi
    if [[ -n $index_url ]]; then echo "index-url = $index_url"; fi
    if [[ -n $extra_index_url ]]; then echo "extra-index-url = $extra_index_url"; fi
    if [[ -n $cert && -f $cert ]]; then cp "$cert" "$pipdir/cert.pem" && echo "cert = /etc/xdg/pip/cert.pem"; fi
} >"$pipdir/pip.conf"
mounts+=(-v "$pipdir:/etc/xdg/pip:ro")
echo "pip sources for the builds ($pipdir/pip.conf):"
sed 's/^/    /' "$pipdir/pip.conf"

# --- 1. rootfs: Debian with Python 3.11 ---------------------------------------------------------------------
phase "rootfs: debootstrap $SUITE ($INCLUDE)"
rootfs_key=$(printf '%s\n' "$SUITE" "$DEBIAN_MIRROR" "$INCLUDE" | key)
context=$CACHE/rootfs-$SUITE-$rootfs_key
if [[ -s $context/rootfs.tar ]]; then
    echo "cached: $context/rootfs.tar"
else
    tree=$CACHE/debootstrap.tmp
    unmount_tree() { findmnt -rn -o TARGET | grep -F "$tree/" | sort -r | xargs -r umount -l || true; }
    unmount_tree
    rm -rf --one-file-system "$tree"
    debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$tree" "$DEBIAN_MIRROR"
    unmount_tree
    rm -rf "$tree"/var/cache/apt/archives/*.deb "$tree"/var/lib/apt/lists/*
    mkdir -p "$context"
    tar -C "$tree" --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
        -cf "$context/rootfs.tar.tmp" .
    mv "$context/rootfs.tar.tmp" "$context/rootfs.tar"
    rm -rf --one-file-system "$tree"
fi
phase_done rootfs

# --- 2. base: the venv and torch ----------------------------------------------------------------------------
base_key=$( (cat "$here/Containerfile.base" && printf '%s\n' "$rootfs_key" "$TORCH") | key)
BASE=localhost/lightning-spectra-base:$SUITE-$base_key
phase "base: $BASE ($TORCH)"
if image_exists "$BASE"; then
    echo "cached: $BASE"
else
    buildah bud --isolation chroot "${mounts[@]}" --build-arg "TORCH=$TORCH" \
        -f "$here/Containerfile.base" -t "$BASE" "$context"
fi
phase_done base

# --- 3. image: the Dockerfile, unchanged but for BASE -------------------------------------------------------
phase "image: $IMAGE from the Dockerfile with BASE=$BASE"
old_id=$(image_id "$IMAGE")
buildah bud --isolation chroot --layers "${mounts[@]}" --build-arg "BASE=$BASE" \
    -f "$repo/Dockerfile" -t "$IMAGE" "$repo"
new_id=$(image_id "$IMAGE")
if [[ -n $old_id && $old_id != "$new_id" ]]; then buildah rmi "$old_id" >/dev/null 2>&1 || true; fi
phase_done image

# --- 4-5. runs inside the image -----------------------------------------------------------------------------
# podman run where podman and runc are installed: the image's ENTRYPOINT, USER and WORKDIR as `docker run` uses
# them, no network. Its default runtime, crun, cannot start a container here: podman asks for rlimits above this
# machine's hard limits (RLIMIT_NOFILE 1048576; no CAP_SYS_RESOURCE to raise them), and with --ulimit within them
# crun refuses the hybrid cgroup hierarchy; runc with explicit --ulimit values runs. Else buildah run (chroot).
if [[ $RUNNER == auto ]]; then
    if command -v podman >/dev/null && command -v runc >/dev/null; then RUNNER=podman; else RUNNER=buildah; fi
fi
case $RUNNER in
podman)
    ulimits=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=32768:32768)  # buildah's default nproc
    in_image() {  # [--entrypoint PROGRAM] [-v HOST:PATH -w PATH] ARGS...: `docker run --rm IMAGE ARGS`
        local options=()
        while [[ $1 == --entrypoint || $1 == -v || $1 == -w ]]; do options+=("$1" "$2") && shift 2; done
        podman --runtime runc run --rm --network none "${ulimits[@]}" "${options[@]}" "$IMAGE" "$@"
    }
    ;;
buildah)
    container=$(buildah from "$IMAGE")
    trap 'buildah rm "$container" >/dev/null 2>&1 || true' EXIT
    in_image() {  # the same through `buildah run`, which ignores the ENTRYPOINT: named here
        local entrypoint=lightning-spectra options=()
        while [[ $1 == --entrypoint || $1 == -v || $1 == -w ]]; do
            case $1 in
            --entrypoint) entrypoint=$2 ;;
            -w) options+=(--workingdir "$2") ;;
            *) options+=("$1" "$2") ;;
            esac
            shift 2
        done
        buildah run --isolation chroot "${options[@]}" "$container" -- "$entrypoint" "$@"
    }
    ;;
*) die "RUNNER is auto, podman or buildah, not $RUNNER" ;;
esac

phase "fit ($RUNNER): lightning-spectra $FIT_ARGS, from an empty folder"
fit_dir=$CACHE/fit
rm -rf "$fit_dir" && mkdir -m 1777 "$fit_dir"  # empty, writable by the image's user
# shellcheck disable=SC2086  # FIT_ARGS: words
in_image -v "$fit_dir:/work" -w /work $FIT_ARGS
summary=$(find "$fit_dir/logs" -name summary.json | head -n 1 || true)
[[ -s $summary ]] || die "the fit wrote no summary.json under its folder's logs/ ($fit_dir)"
echo "summary written: $summary ($(wc -c <"$summary") bytes; the fit's folder is /work in the image)"
"$PYTHON" -c 'import json, sys; s = json.load(open(sys.argv[1])); print({k: s.get(k) for k in sys.argv[2:]})' \
    "$summary" device epochs train_time_s || die "$summary is no JSON"
phase_done fit

phase "watch ($RUNNER): lightning-spectra-watch --help"
in_image --entrypoint lightning-spectra-watch --help >"$CACHE/watch-help.txt"
head -n 3 "$CACHE/watch-help.txt"
phase_done watch

printf '\ndocker-check passed in %d s: %s (from %s; %s)\n' "$(($(date +%s) - start))" "$IMAGE" "$BASE" \
    "$(buildah images --format '{{.Size}}' "$IMAGE" | head -n 1)"
