"""Joining a Ray cluster (or starting one in this process), with one clear line when that cannot be done."""

from __future__ import annotations

import logging
import os
import socket

from transcriber.errors import ConfigError

#: How to get a cluster, for every "cannot connect" message.
START_ONE = (
    "start one with `ray start --head` (or `invoke cluster-head`) and pass its HOST:PORT, "
    "or use --ray-address local for a cluster inside this process"
)
_REACH_SECONDS = 5.0


def _require_ray() -> None:
    try:
        import ray  # noqa: F401
    except ImportError as exc:
        raise ConfigError("--cluster ray needs ray, which is not installed: pip install -e '.[cluster]'") from exc


def _check_reachable(address: str) -> None:
    """Fail fast on HOST:PORT nobody listens on: Ray itself retries for a minute before it gives up."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--ray-address {address!r} must be auto, local or HOST:PORT of a Ray head node")
    try:
        socket.create_connection((host, int(port)), timeout=_REACH_SECONDS).close()
    except OSError as exc:
        raise ConfigError(f"--ray-address {address}: no Ray head answers there ({exc.strerror or exc}); "
                          f"{START_ONE}") from exc  # fmt: skip


def connect(address: str) -> str:
    """`ray.init` for `--ray-address`; returns a line describing the cluster joined."""
    _require_ray()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    # Ray says, at WARNING, that it turned on token authentication for a new cluster: news, not a problem.
    logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(logging.ERROR)
    if address not in ("auto", "local"):
        _check_reachable(address)
    try:
        if address == "local":
            ray.init(address="local", include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
        else:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        detail = " ".join(str(exc).split())[:200]
        where = "no running cluster found (RAY_ADDRESS unset)" if address == "auto" else "cannot connect"
        raise ConfigError(f"--ray-address {address}: {where}: {detail}; {START_ONE}") from exc
    resources = ray.cluster_resources()
    nodes = sum(1 for node in ray.nodes() if node.get("Alive"))
    return (
        f"ray: {nodes} node(s), {resources.get('CPU', 0):g} CPUs, {resources.get('GPU', 0):g} GPUs "
        f"({'started here' if address == 'local' else 'joined ' + address})"
    )


def disconnect() -> None:
    import ray

    if ray.is_initialized():
        ray.shutdown()
