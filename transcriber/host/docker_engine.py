"""Reaching the Docker engine and building the images, with errors that say what to do."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, TextIO

from transcriber.errors import TranscriberError

DOCKERFILES = {"rocm": "containers/rocm/Dockerfile", "cuda": "containers/cpu/Dockerfile",
               "cpu": "containers/cpu/Dockerfile"}  # fmt: skip


class DockerUnavailableError(TranscriberError):
    """No Docker engine answers, or this user may not talk to it."""


def explain(exc: Exception) -> str:
    """Turn a docker SDK connection error into the reason and the fix."""
    text = str(exc)
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if "Permission denied" in text or "PermissionError" in text:
        return (
            f"permission denied on the Docker socket ({host}): add yourself to the docker group "
            "(`sudo usermod -aG docker $USER`, then log out and in), or run without Docker: --local"
        )
    return (
        f"no Docker engine answers at {host}: install Docker and start it (`sudo systemctl start docker`), "
        "or run without Docker: --local"
    )


def docker_client() -> Any:
    """A connected docker SDK client (DOCKER_HOST is honoured), or `DockerUnavailableError`."""
    try:
        import docker
    except ImportError as exc:
        raise DockerUnavailableError("the docker Python package is missing: pip install docker") from exc
    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:  # DockerException, requests errors, socket errors: all mean "not reachable"
        raise DockerUnavailableError(explain(exc)) from exc
    return client


def build_image(
    client: Any,
    repo: Path,
    gpu_kind: str,
    tag: str,
    target: str = "runtime",
    labels: dict[str, str] | None = None,
    buildargs: dict[str, str] | None = None,
    out: TextIO | None = None,
) -> str:
    """Build the image for `gpu_kind` from the repo, streaming the build log; returns the image id.

    `forcerm` removes the intermediate containers of failed steps too, so a broken build leaves nothing.
    """
    out = out or sys.stdout
    image_id = ""
    stream = client.api.build(
        path=str(repo), dockerfile=DOCKERFILES[gpu_kind], tag=tag, target=target, labels=labels,
        buildargs=buildargs or None, rm=True, forcerm=True, decode=True,
    )  # fmt: skip
    for line in stream:
        if "stream" in line:
            out.write(line["stream"])
        if "error" in line:
            raise TranscriberError(f"image build failed: {line['error'].strip()}")
        if "aux" in line and "ID" in line["aux"]:
            image_id = line["aux"]["ID"]
    return image_id or client.images.get(tag).id


def require_image(client: Any, tag: str) -> None:
    """A missing image is a one-line error naming the fix; without this check the SDK would try to pull
    `transcriber:cpu` from Docker Hub and end in an APIError traceback."""
    import docker.errors

    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        raise TranscriberError(f"image {tag} is not built: run `invoke build` (or `invoke setup`)") from None
