"""Ray node containers on this host (`invoke cluster-head`, `cluster-worker`, `cluster-stop`): the node's
container request, starting one and waiting for Ray to say it started, stopping them all; and a run in the
image as the driver that joins the cluster through this host's node (`invoke transcribe --ray-address`).

The `ray start` command, ports and token live in `raynode`; the container request is the run's
(`actions.container_spec`), so a node gets the same GPU access, user and model cache as a transcription.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from transcriber.errors import ConfigError, TranscriberError
from transcriber.host.actions import HostPaths, container_spec, run_in_image, transcribe_command
from transcriber.host.container import ContainerSpec
from transcriber.host.docker_engine import docker_client, require_image
from transcriber.host.raynode import (
    AUTH_ENV,
    CONTAINER_RAY_TMP,
    CONTAINER_TOKEN,
    HEAD_PORT,
    LABEL,
    RayPorts,
    detect_node_ip,
    ensure_token,
    head_address,
    require_token,
    start_command,
)


@dataclass(frozen=True)
class RayNode:
    """What `invoke cluster-head` / `cluster-worker` asked for; `address` None makes a head."""

    address: str | None = None
    node_ip: str | None = None
    port: int = HEAD_PORT
    ports_from: int = 6380
    resources: tuple[str, ...] = ()
    worker_ports: int = 16
    #: The cluster's token file (default: the env folder's `ray-auth-token`).
    token_file: Path | None = None

    @property
    def ports(self) -> RayPorts:
        return RayPorts(self.ports_from, self.worker_ports, gcs=self.port if self.address is None else None)


def ray_node_spec(paths: HostPaths, node: RayNode) -> ContainerSpec:
    """The run's request (GPU devices, numeric GIDs, override, model cache, user, isolation) made into a
    named Ray node: `ray start` as the entrypoint, on the host's network, no input or output folders, the
    token file mounted read-only and Ray's temp folder kept in a host folder (for a driver to join)."""
    role = "head" if node.address is None else "worker"
    address = None if node.address is None else head_address(node.address)
    command = start_command(node.ports, node.node_ip or detect_node_ip(), address, list(node.resources))
    spec = container_spec(paths, command, None, None)
    name = f"transcriber-ray-{role}-{node.ports_from}"
    tmp = spec.model_cache.parent / "ray" / name
    tmp.mkdir(parents=True, exist_ok=True)  # made here, or the engine makes it root's
    binds = ((node.token_file or paths.ray_token, CONTAINER_TOKEN, "ro"), (tmp, CONTAINER_RAY_TMP, "rw"))
    return replace(spec, entrypoint="ray", network="host", name=name, labels={LABEL: role}, binds=binds,
                   extra_env={**spec.extra_env, **AUTH_ENV})  # fmt: skip


def start_ray_node(
    paths: HostPaths, node: RayNode, connect: Callable[[], object] = docker_client, wait_s: float = 120
) -> ContainerSpec:
    """Start the node's container detached and wait until Ray says it started; a node that exits first is
    an error carrying its last log line."""
    import time

    token = node.token_file or paths.ray_token
    if node.address is None:
        ensure_token(token)
    else:
        require_token(token)
    spec = ray_node_spec(paths, node)
    client: Any = connect()
    require_image(client, spec.image)
    if any(c.name == spec.name for c in client.containers.list(all=True, filters={"name": spec.name})):
        raise ConfigError(f"a container named {spec.name} exists: stop it first (invoke cluster-stop)")
    container = client.containers.run(**spec.docker_kwargs())
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        container.reload()
        logs = container.logs().decode("utf-8", errors="replace")
        if "Ray runtime started" in logs:
            return spec
        if container.status not in ("created", "running"):
            last = next((line for line in reversed(logs.strip().splitlines()) if line.strip()), "no output")
            raise TranscriberError(f"the Ray node {spec.name} exited: {last.strip()[:300]} (docker logs {spec.name})")
        time.sleep(1)
    raise TranscriberError(f"the Ray node {spec.name} did not start within {wait_s:.0f} s (docker logs {spec.name})")


def stop_ray_nodes(connect: Callable[[], object] = docker_client) -> list[str]:
    """Stop and remove every Ray node container of ours on this engine (found by label); their names."""
    client: Any = connect()
    names = []
    for container in client.containers.list(all=True, filters={"label": LABEL}):
        container.stop(timeout=10)
        container.remove(force=True)
        names.append(container.name)
    return names


def transcribe_on_cluster(
    paths: HostPaths,
    source: Path,
    target: Path,
    flags: Sequence[str],
    address: str,
    token_file: Path | None = None,
    connect: Callable[[], object] = docker_client,
) -> int:
    """`transcriber run --cluster ray` in the image as a driver of the cluster at `address`: the run's
    request, on the host's network, joined to this host's Ray node, with the cluster's token file."""
    try:
        head = head_address(address)
    except ConfigError as exc:
        raise ConfigError(str(exc).replace("--address", "--ray-address", 1)) from None
    token = require_token(token_file or paths.ray_token)
    cluster = [*flags, "--cluster", "ray", "--ray-address", head]

    def as_driver(client: Any, spec: ContainerSpec) -> ContainerSpec:
        node = local_ray_node(client)
        binds = ((token, CONTAINER_TOKEN, "ro"), (ray_tmp_of(node), CONTAINER_RAY_TMP, "rw"))
        return replace(spec, network="host", pid_mode=f"container:{node.name}", binds=binds,
                       extra_env={**spec.extra_env, **AUTH_ENV})  # fmt: skip

    return run_in_image(paths, source, target, transcribe_command(source, cluster), connect, as_driver)


def local_ray_node(client: Any) -> Any:
    """This host's running Ray node container of ours (the head first): a driver joins the cluster through it."""
    nodes = client.containers.list(filters={"label": LABEL, "status": "running"})
    if not nodes:
        raise ConfigError(
            "--ray-address: no Ray node runs on this host, and a driver joins the cluster through one: run "
            "this on the head's host, or start a node here first (invoke cluster-worker --address HEAD:PORT)"
        )
    return min(nodes, key=lambda node: (node.labels.get(LABEL) != "head", node.name))


def ray_tmp_of(node: Any) -> Path:
    """The host folder a node container keeps Ray's temp folder (sockets, session) in."""
    found = next((m["Source"] for m in node.attrs.get("Mounts", []) if m["Destination"] == CONTAINER_RAY_TMP), None)
    if found is None:
        raise ConfigError(f"the Ray node {node.name} keeps no Ray folder on this host (an older node): restart it "
                          "(invoke cluster-stop, then cluster-head or cluster-worker)")  # fmt: skip
    return Path(found)
