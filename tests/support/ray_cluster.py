"""A Ray cluster of N raylets on loopback, one CPU each, for the cluster tests and `scripts/bench_cluster.py`.

Each node is `ray start ... --block` in a session of its own with its own ports and (for the head) a private
temp dir, so it touches no other cluster on the machine, and stopping it kills exactly the process groups
it started (never `ray stop`, which stops every Ray process of the user). Token authentication with a token
of its own: `env` holds what a driver needs to join.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

RAY = [sys.executable, "-m", "ray.scripts.scripts"]
#: The per-node ports `ray start` would otherwise take at fixed defaults, clashing with any other cluster here.
NODE_PORTS = ("--node-manager-port", "--object-manager-port", "--metrics-export-port", "--runtime-env-agent-port",
              "--dashboard-agent-grpc-port", "--dashboard-agent-listen-port")  # fmt: skip


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def _node_args(ports: list[int]) -> list[str]:
    """One node on loopback with one CPU and its own ports (worker processes bind free ones themselves)."""
    args = [f"{flag}={port}" for flag, port in zip(NODE_PORTS, ports, strict=True)]
    return [*args, "--node-ip-address=127.0.0.1", "--num-cpus=1", "--object-store-memory=100000000",
            "--disable-usage-stats", "--block"]  # fmt: skip


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    process = subprocess.Popen([*RAY, "start", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env=env, start_new_session=True)  # fmt: skip
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if "Ray runtime started" in line:
            return process
    _stop(process)
    raise RuntimeError("ray start failed:\n" + "".join(seen[-30:]))


def _stop(process: subprocess.Popen[str]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=15)
            return
        except subprocess.TimeoutExpired:
            continue


class LoopbackCluster:
    """`with LoopbackCluster(2) as c:` -> `c.address` (HOST:PORT) and `c.env` (the environment for drivers)."""

    def __init__(self, nodes: int) -> None:
        self.nodes = nodes
        auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
        self.env = {**os.environ, **auth, "RAY_USAGE_STATS_ENABLED": "0", "HF_HUB_OFFLINE": "1"}
        self._processes: list[subprocess.Popen[str]] = []
        self._temp = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))  # short: socket paths must fit 107 bytes
        self.address = ""

    def __enter__(self) -> LoopbackCluster:
        port, dashboard, *ports = free_ports(2 + self.nodes * len(NODE_PORTS))
        own = [ports[i * len(NODE_PORTS) : (i + 1) * len(NODE_PORTS)] for i in range(self.nodes)]
        self.address = f"127.0.0.1:{port}"
        try:
            self._processes.append(_start(["--head", f"--port={port}", "--include-dashboard=false",
                                           f"--dashboard-port={dashboard}", f"--temp-dir={self._temp}",
                                           *_node_args(own[0])], self.env))  # fmt: skip
            for node_ports in own[1:]:
                self._processes.append(_start([f"--address={self.address}", *_node_args(node_ports)], self.env))
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for process in reversed(self._processes):
            _stop(process)
        shutil.rmtree(self._temp, ignore_errors=True)
