"""A small stand-in for the Docker Engine API on a local Unix socket, recording what it receives.

The real docker SDK talks to it, so the tests check the request that `docker run` would get (devices,
groups, mounts, network, user, environment) and the stop and remove that must follow a Ctrl-C. It
answers just the calls a container run, an image check and a ping make.
"""

from __future__ import annotations

import json
import re
import socketserver
import struct
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

CONTAINER_ID = "c0ffee"


@dataclass
class Call:
    method: str
    path: str
    body: Any


@dataclass
class FakeEngine:
    """Serve on `socket_path`; `log_lines` are streamed as the container's output, then it exits."""

    socket_path: Path
    log_lines: list[str] = field(default_factory=lambda: ["hello from the container\n"])
    exit_code: int = 0
    hang_logs: bool = False
    images: dict[str, dict[str, str]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    #: What /containers/json lists as running (and the container's inspect adds), such as a Ray node.
    listed: dict[str, Any] = field(default_factory=dict)
    stopped: threading.Event = field(default_factory=threading.Event)
    logs_started: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        engine = self

        class Handler(_Handler):
            fake = engine

        self._server = socketserver.ThreadingUnixStreamServer(str(self.socket_path), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def close(self) -> None:
        self.stopped.set()
        self._server.shutdown()
        self._server.server_close()

    def call(self, method: str, pattern: str) -> Call:
        return next(c for c in self.calls if c.method == method and re.fullmatch(pattern, c.path))

    def paths(self) -> list[str]:
        return [f"{c.method} {c.path}" for c in self.calls]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeEngine

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the socket has no client address to log."""

    def _reply(self, status: int, payload: Any = None, content_type: str = "application/json") -> None:
        body = b"" if payload is None else payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Api-Version", "1.43")
        self.end_headers()
        self.wfile.write(body)

    def _route(self) -> None:
        path = re.sub(r"^/v[\d.]+", "", self.path.split("?")[0])
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw.strip().startswith(b"{") else None
        self.fake.calls.append(Call(self.command, path, body))
        container = f"/containers/{CONTAINER_ID}"
        if path == "/_ping":
            self._reply(200, b"OK", "text/plain")
        elif path == "/version":
            self._reply(200, {"ApiVersion": "1.43", "MinAPIVersion": "1.24", "Version": "fake"})
        elif path == "/containers/create":
            self._reply(201, {"Id": CONTAINER_ID, "Warnings": []})
        elif path == "/containers/json":
            self._reply(200, [{"Id": CONTAINER_ID, **self.fake.listed}] if self.fake.listed else [])
        elif path == f"{container}/json":
            described = {"Id": CONTAINER_ID, "Name": "/fake", "Config": {"Tty": False}, "State": {}}
            self._reply(200, described | self.fake.listed)
        elif path == f"{container}/logs":
            self._stream_logs(stdout="stdout=1" in self.path or "stdout=true" in self.path.lower())
        elif path == f"{container}/wait":
            self._reply(200, {"StatusCode": self.fake.exit_code})
        elif path == f"{container}/stop":
            self.fake.stopped.set()
            self._reply(204)
        elif path in (f"{container}/start", container):
            self._reply(204)
        elif path.startswith("/images/") and path.endswith("/json"):
            name = path.removeprefix("/images/").removesuffix("/json")
            if name in self.fake.images:
                self._reply(200, {"Id": f"sha256:{name}", "Config": {"Labels": self.fake.images[name]}})
            else:
                self._reply(404, {"message": f"No such image: {name}"})
        else:
            self._reply(404, {"message": f"fake engine does not answer {self.command} {path}"})

    def _stream_logs(self, stdout: bool) -> None:
        """The log lines on the container's stdout; its stderr stream stays empty."""
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.docker.raw-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        for line in self.fake.log_lines if stdout else []:
            data = line.encode()
            self.wfile.write(struct.pack(">BxxxL", 1, len(data)) + data)
        self.wfile.flush()
        self.fake.logs_started.set()
        if self.fake.hang_logs:
            self.fake.stopped.wait(timeout=60)
        self.close_connection = True

    do_GET = do_POST = do_DELETE = _route
