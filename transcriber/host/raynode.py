"""Ray nodes in our image: the `ray start` command and the fixed ports a node listens on.

Why the host's network and not Docker's bridge with published ports: Ray tells the other nodes to reach
this one at `--node-ip-address`, which must then be the host's address, and Ray 2.60's runtime-env agent
binds its socket to exactly that address (ray/_private/runtime_env/agent/main.py: `sock.bind` on
`node_ip_address`). Inside a bridge container the host's address is on no interface, so the bind fails
("Cannot assign requested address"), the raylet fate-shares with the agent and the node never starts.
With the container's own address instead, nodes on other hosts cannot reach it. So a node shares the
host's network, and every port it listens on (the GCS on the head, the raylet's node and object
managers, the agents, the metrics exporter and a small range for worker processes) is fixed by flag:
those are the ports to open between the hosts, and nothing else listens beyond loopback.

Token authentication is on for every node and driver we start: anyone who reaches the GCS port of a
cluster without it can run code there. The token is a file of the caller's (0600), mounted read-only into
each container, which Ray reads through RAY_AUTH_TOKEN_PATH: the token itself never appears in an
environment, an argv or `docker inspect`.

A driver (`invoke transcribe --ray-address`) must share a host with a node: Ray connects a driver to a
raylet it finds among the local processes and through that raylet's sockets under /tmp/ray. So each node
keeps /tmp/ray in a host folder of its own, and the driver's container joins the node's process namespace
and mounts that folder at the same place.

Standard library only: this is the host side.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

from transcriber.errors import ConfigError

HEAD_PORT = 6379
#: Where a node's block of ports starts by default; a second node on the same host needs another block.
DEFAULT_PORTS_FROM = 6380
#: Worker processes each take one port of the range: enough for one actor per CPU slot or GPU, plus tasks.
DEFAULT_WORKER_PORTS = 16
LABEL = "transcriber.ray"
#: Where the token file is mounted (read-only) in a node or driver container, and Ray's temp folder there.
CONTAINER_TOKEN = "/run/transcriber-ray-token"
CONTAINER_RAY_TMP = "/tmp/ray"
#: Ray reads the token from the mounted file, never from the environment.
AUTH_ENV = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": CONTAINER_TOKEN}
#: Offsets into a node's block; the worker range follows them.
_OFFSETS = {
    "node-manager-port": 0,
    "object-manager-port": 1,
    "dashboard-agent-grpc-port": 2,
    "dashboard-agent-listen-port": 3,
    "metrics-export-port": 4,
    "runtime-env-agent-port": 5,
}
_WORKERS_AT = 10


@dataclass(frozen=True)
class RayPorts:
    """A node's ports: a block from `first` (and the GCS port on the head)."""

    first: int = DEFAULT_PORTS_FROM
    workers: int = DEFAULT_WORKER_PORTS
    gcs: int | None = None

    def __post_init__(self) -> None:
        last = self.first + _WORKERS_AT + self.workers - 1
        where = f"--ports-from {self.first}: the node's ports {self.first}-{last}"
        if self.workers < 2:
            raise ConfigError(f"--worker-ports {self.workers}: give at least 2 (one per actor, plus tasks)")
        if self.first < 1024 or last > 65535:
            raise ConfigError(f"{where} must lie in 1024-65535")
        if self.gcs is not None and self.first <= self.gcs <= last:
            raise ConfigError(f"{where} overlap the head port {self.gcs}; choose another --ports-from")

    def flags(self) -> list[str]:
        """`ray start` flags fixing every port of the node."""
        named = [f"--{flag}={self.first + offset}" for flag, offset in _OFFSETS.items()]
        low = self.first + _WORKERS_AT
        workers = [f"--min-worker-port={low}", f"--max-worker-port={low + self.workers - 1}"]
        return ([f"--port={self.gcs}"] if self.gcs is not None else []) + named + workers

    def listening(self) -> tuple[int, ...]:
        """Every port the node listens on beyond loopback, in order: the ports to open between the hosts."""
        head = (self.gcs,) if self.gcs is not None else ()
        block = tuple(self.first + offset for offset in _OFFSETS.values())
        return (*head, *block, *range(self.first + _WORKERS_AT, self.first + _WORKERS_AT + self.workers))


def start_command(ports: RayPorts, node_ip: str, address: str | None, resources: list[str]) -> tuple[str, ...]:
    """`ray start` (run by the image's `ray` entrypoint) for a head (`address` None) or a worker, blocking
    in the foreground so the container lives as long as the node. The dashboard is off: it would be one
    more port, and `ray status` says what a user needs (Ray refuses the flag on a worker)."""
    role = ["--head", "--include-dashboard=false"] if address is None else [f"--address={address}"]
    return ("start", "--block", *role, f"--node-ip-address={node_ip}", *ports.flags(), "--disable-usage-stats",
            *resources)  # fmt: skip


def head_address(address: str) -> str:
    """HOST:PORT of the head, checked; a bare host gets the default head port."""
    host, _, port = address.rpartition(":") if ":" in address else (address, "", str(HEAD_PORT))
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"--address {address}: give the head as HOST:PORT, such as 192.168.1.10:{HEAD_PORT}")
    return f"{host}:{port}"


def detect_node_ip() -> str:
    """This host's address on the interface of its default route (a UDP connect sends no packet)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed, only used to pick the interface
            return str(probe.getsockname()[0])
        except OSError:
            raise ConfigError(
                "cannot tell this host's network address (no default route): give it with --node-ip ADDRESS"
            ) from None


def ensure_token(path: Path) -> Path:
    """The head's token file: made (256 random bits, hex, mode 0600, the caller's) unless it exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return require_token(path)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_hex(32))
    return path


def require_token(path: Path) -> Path:
    """A token file that a worker or driver can use, or one line saying where to get it."""
    if not path.is_file() or not path.read_text(encoding="ascii", errors="replace").strip():
        raise ConfigError(
            f"--token-file {path}: no Ray token there; copy the head's file from its host "
            f"(scp HEAD:{path} {path}, the path `invoke cluster-head` printed) and rerun"
        )
    return path
