#!/usr/bin/env bash
# Make local stand-ins for the base images the Dockerfiles start FROM, when the real ones cannot be pulled
# (CI machines reach PyPI and Debian's mirror, not Docker Hub). Each stand-in is tagged with the base's
# exact name, so containers/*/Dockerfile build unchanged:
#
#   python:3.12.12-slim-bookworm   Debian bookworm (debootstrap) + a CPython 3.12 built with --enable-shared
#   rocm/pytorch:rocm7.2.4_...     the same Python plus torch in it (no ROCm runtime: no GPU here)
#
# Usage: tests/docker/make_base_images.sh [cpu|rocm|all]   (default: all; an existing image is kept)
# Env: STANDIN_PYTHON   the Python prefix to copy (default: pyenv's 3.12.x)
#      STANDIN_TORCH    pip spec and source of the stand-in's torch (default: torch==2.13.0 from PyPI)
#      DEBIAN_MIRROR    (default http://deb.debian.org/debian)
# What only a stand-in needs stays here, never in the project's Dockerfiles: the host's CA bundle (pip
# behind this machine's TLS proxy needs it, via PIP_CERT) and the copied Python.
set -euo pipefail

PYTHON_TAG="python:3.12.12-slim-bookworm"
ROCM_TAG="rocm/pytorch:rocm7.2.4_ubuntu24.04_py3.12_pytorch_release_2.10.0"
DEBIAN_TAG="transcriber-standin/debian:bookworm"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
TORCH="${STANDIN_TORCH:-torch==2.13.0}"
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
WHAT="${1:-all}"

log() { echo "[make_base_images] $*" >&2; }
have() { docker image inspect "$1" >/dev/null 2>&1; }
# A real base wins: pull it when the registry answers (bounded, as an unreachable registry hangs a while).
pulled() { timeout 90 docker pull -q "$1" >/dev/null 2>&1; }

python_prefix() {
    if [ -n "${STANDIN_PYTHON:-}" ]; then echo "$STANDIN_PYTHON"; return; fi
    local found
    found=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12.* 2>/dev/null | sort -V | tail -1)
    [ -n "$found" ] || { log "no Python 3.12 found: set STANDIN_PYTHON to a prefix built with --enable-shared"; exit 2; }
    echo "$found"
}

make_debian() {
    have "$DEBIAN_TAG" && return
    command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
    local root
    root=$(mktemp -d)
    log "debootstrap bookworm into $root"
    # The runtime libraries the copied CPython links (ssl, ffi, sqlite, bz2, lzma, zlib, expat, readline,
    # ncurses, uuid), plus what the Dockerfiles use (curl, useradd from passwd, which minbase has).
    debootstrap --variant=minbase \
        --include=ca-certificates,curl,libssl3,libffi8,libsqlite3-0,libbz2-1.0,liblzma5,zlib1g,libexpat1,libreadline8,libncursesw6,libuuid1 \
        bookworm "$root" "$MIRROR" >/dev/null
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -c . | docker import -c 'CMD ["bash"]' - "$DEBIAN_TAG" >/dev/null
    rm -rf "$root"
}

make_python() {
    have "$PYTHON_TAG" && return
    pulled "$PYTHON_TAG" && return
    make_debian
    local prefix context
    prefix=$(python_prefix)
    context=$(mktemp -d)
    log "stand-in $PYTHON_TAG from $prefix"
    # The test suite, caches and anything site-packages holds besides pip stay behind (a .pth of this
    # machine's sandbox among them).
    mkdir "$context/python"
    tar -C "$prefix" -c --exclude=lib/python3.12/test --exclude=__pycache__ --exclude='*.pth' \
        --exclude=lib/python3.12/site-packages/README.txt . | tar -C "$context/python" -x
    cp "$CA_BUNDLE" "$context/host-ca.crt"
    cat >"$context/Dockerfile" <<'EOF'
FROM transcriber-standin/debian:bookworm
COPY python/ /usr/local/
COPY host-ca.crt /usr/local/share/standin/host-ca.crt
# pyenv wrote its own prefix into the entry scripts' shebangs.
RUN sed -i '1s|^#!.*python.*$|#!/usr/local/bin/python3.12|' /usr/local/bin/pip* /usr/local/bin/pydoc* \
        /usr/local/bin/idle* /usr/local/bin/2to3* \
    && ldconfig && python3 -c "import ssl, sqlite3, ctypes, lzma, bz2, zlib, readline, uuid, pyexpat"
ENV LANG=C.UTF-8 PIP_CERT=/usr/local/share/standin/host-ca.crt
CMD ["python3"]
EOF
    docker build -q -t "$PYTHON_TAG" "$context" >/dev/null
    rm -rf "$context"
}

make_rocm() {
    have "$ROCM_TAG" && return
    pulled "$ROCM_TAG" && return
    make_python
    log "stand-in $ROCM_TAG: $PYTHON_TAG plus $TORCH (the CPU runs it; no ROCm runtime)"
    local context
    context=$(mktemp -d)
    cat >"$context/Dockerfile" <<EOF
FROM $PYTHON_TAG
# AMD's image keeps its Python at /opt/venv (a venv that pip installs into) and runs as root.
RUN python3 -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir -q "$TORCH" \
    && /opt/venv/bin/python -c "import torch; print('torch', torch.__version__)"
ENV PATH=/opt/venv/bin:\$PATH VIRTUAL_ENV=/opt/venv
EOF
    docker build -q -t "$ROCM_TAG" "$context" >/dev/null
    rm -rf "$context"
}

case "$WHAT" in
    cpu) make_python ;;
    rocm) make_rocm ;;
    all) make_python && make_rocm ;;
    *) log "usage: $0 [cpu|rocm|all]"; exit 2 ;;
esac
log "ready: $(docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E 'python:3.12|rocm/pytorch' | tr '\n' ' ')"
