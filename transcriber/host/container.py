"""The container request for `transcriber run`, and running it through the docker SDK.

`ContainerSpec` is pure (host facts in, request out), so the tests can check every field; `run_container`
streams the logs, stops and removes the container on Ctrl-C, SIGTERM or SIGHUP of the caller, and returns
the container's exit code.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from transcriber.errors import EXIT_INTERRUPTED
from transcriber.host.runs import STOP_GRACE_S, say

CONTAINER_INPUT = "/data/in"
CONTAINER_OUTPUT = "/data/out"
CONTAINER_MODELS = "/models"


@dataclass(frozen=True)
class GpuAccess:
    """What the container needs to reach the GPU: device nodes, their group ids, the gfx override."""

    kind: str
    devices: tuple[str, ...] = ()
    group_ids: tuple[int, ...] = ()
    hsa_override: str = ""


def amd_access(dev_root: Path, render_node: str, hsa_override_value: str) -> GpuAccess:
    """/dev/kfd plus the chosen render node (or all of /dev/dri), with the numeric GIDs of those nodes.

    Group names (video, render) often do not exist inside the image, and their numbers differ between
    distributions, so the host's numeric GIDs are passed.
    """
    kfd = dev_root / "kfd"
    render = dev_root / render_node.removeprefix("/dev/") if render_node else dev_root / "dri"
    nodes = [kfd, render]
    if render.is_dir():
        nodes[1:] = sorted(render.iterdir())
    devices = tuple(f"{node}:/dev/{node.relative_to(dev_root)}:rwm" for node in nodes)
    gids = sorted({node.stat().st_gid for node in nodes if node.exists()})
    return GpuAccess(kind="rocm", devices=devices, group_ids=tuple(gids), hsa_override=hsa_override_value)


@dataclass(frozen=True)
class ContainerSpec:
    """Everything `docker run` gets for one batch."""

    image: str
    command: tuple[str, ...]
    input_dir: Path | None
    output_dir: Path | None
    model_cache: Path
    gpu: GpuAccess
    user: str
    shm_size: str = "8g"
    extra_env: dict[str, str] = field(default_factory=dict)
    #: A batch talks to no network; a Ray node (`invoke cluster-head`) shares the host's (see host/raynode.py).
    network: str = "none"
    #: A long-lived service container (a Ray node) has a name, labels and its own entrypoint; a batch has none.
    name: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    entrypoint: str = ""
    #: More host paths to mount, (host, container, mode): a Ray token file, a node's Ray temp folder.
    binds: tuple[tuple[Path, str, str], ...] = ()
    #: A Ray driver joins a node's process namespace (`container:<name>`), where Ray looks for the raylet.
    pid_mode: str = ""
    #: A named service's restart policy: a Ray node is never restarted behind the user's back ("no"); a
    #: folder watcher (`invoke watch`) comes back after a crash or a reboot ("unless-stopped").
    restart: str = "no"
    #: A command the engine runs in the container to judge its health (Docker's HEALTHCHECK), and how often.
    healthcheck: tuple[str, ...] = ()
    health_interval_s: int = 30
    #: Mount the folders so that a start fails where a host folder is missing. Docker's default binds make
    #: a missing folder, owned by root, at every start: a watcher restarted after its input folder was
    #: deleted would then watch an empty folder its user cannot write into.
    strict_mounts: bool = False

    def environment(self) -> dict[str, str]:
        # The caller's uid has no home in the image: HOME and matplotlib's config go to /tmp, or libraries
        # that write a cache there fail.
        env = {"HF_HOME": CONTAINER_MODELS, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", "HOME": "/tmp",
               "MPLCONFIGDIR": "/tmp/matplotlib", **self.extra_env}  # fmt: skip
        if self.gpu.hsa_override:
            env["HSA_OVERRIDE_GFX_VERSION"] = self.gpu.hsa_override
        if self.input_dir is not None:  # the run names each recording's source by its host path (ownership.py)
            env["TRANSCRIBER_INPUT_ORIGIN"] = f"{CONTAINER_INPUT}={self.input_dir}"
        return env

    def mounts(self) -> dict[str, dict[str, str]]:
        """Host folder -> bind and mode; the input is read-only."""
        volumes = {str(self.model_cache): {"bind": CONTAINER_MODELS, "mode": "rw"}}
        if self.input_dir is not None:
            volumes[str(self.input_dir)] = {"bind": CONTAINER_INPUT, "mode": "ro"}
        if self.output_dir is not None:
            volumes[str(self.output_dir)] = {"bind": CONTAINER_OUTPUT, "mode": "rw"}
        for host, bind, mode in self.binds:
            volumes[str(host)] = {"bind": bind, "mode": mode}
        return volumes

    def to_host(self, text: str) -> str:
        """Container paths in a message turned into the host paths the user knows."""
        places = {
            CONTAINER_INPUT: self.input_dir,
            CONTAINER_OUTPUT: self.output_dir,
            CONTAINER_MODELS: self.model_cache,
        }

        def host(match: re.Match[str]) -> str:
            found = places[match.group(0)]
            return str(found) if found is not None else match.group(0)

        return _CONTAINER_PATH.sub(host, text)

    def docker_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `client.containers.run`."""
        kwargs: dict[str, Any] = {
            "image": self.image,
            "command": list(self.command),
            "environment": self.environment(),
            "volumes": self.mounts(),
            "network_mode": self.network,
            "user": self.user,
            "security_opt": ["no-new-privileges"],
            "ipc_mode": "private",
            "shm_size": self.shm_size,
            "detach": True,
        }
        if self.strict_mounts:
            from docker.types import Mount

            binds = kwargs.pop("volumes").items()
            kwargs["mounts"] = [Mount(m["bind"], host, type="bind", read_only=m["mode"] == "ro") for host, m in binds]
        if self.name:  # a service: named, labelled, restarted only as its policy says
            kwargs |= {"name": self.name, "labels": dict(self.labels), "restart_policy": {"Name": self.restart}}
        if self.healthcheck:
            seconds = 1_000_000_000
            kwargs["healthcheck"] = {"test": ["CMD", *self.healthcheck], "interval": self.health_interval_s * seconds,
                                     "timeout": 10 * seconds, "retries": 3, "start_period": 60 * seconds}  # fmt: skip
        if self.entrypoint:
            kwargs["entrypoint"] = [self.entrypoint]
        if self.pid_mode:
            kwargs["pid_mode"] = self.pid_mode
        if self.gpu.kind == "rocm":
            kwargs["devices"] = list(self.gpu.devices)
            kwargs["group_add"] = [str(g) for g in self.gpu.group_ids]
            # ROCm's runtime uses memory-policy syscalls that Docker's default seccomp profile refuses.
            kwargs["security_opt"].append("seccomp=unconfined")
        elif self.gpu.kind == "cuda":
            from docker.types import DeviceRequest

            kwargs["device_requests"] = [DeviceRequest(count=-1, capabilities=[["gpu"]])]
        return kwargs

    def cli_args(self) -> list[str]:
        """The same request as `docker run` flags (for `invoke shell`), rendered from `docker_kwargs`."""
        kwargs = self.docker_kwargs()
        args = [f"--network={kwargs['network_mode']}", f"--user={kwargs['user']}", f"--ipc={kwargs['ipc_mode']}",
                f"--shm-size={kwargs['shm_size']}"]  # fmt: skip
        args += [f"--security-opt={opt}" for opt in kwargs["security_opt"]]
        args += [f"--device={device}" for device in kwargs.get("devices", [])]
        args += [f"--group-add={gid}" for gid in kwargs.get("group_add", [])]
        if "device_requests" in kwargs:
            args.append("--gpus=all")
        args += [f"--env={key}={value}" for key, value in kwargs["environment"].items()]
        args += [f"--volume={host}:{m['bind']}:{m['mode']}" for host, m in self.mounts().items()]
        if self.name:
            args += [f"--name={self.name}", f"--restart={self.restart}",
                     *(f"--label={k}={v}" for k, v in self.labels.items())]  # fmt: skip
        if self.healthcheck:
            args += [f"--health-cmd={shlex.join(self.healthcheck)}", f"--health-interval={self.health_interval_s}s",
                     "--health-timeout=10s", "--health-retries=3", "--health-start-period=60s"]  # fmt: skip
        if self.entrypoint:
            args.append(f"--entrypoint={self.entrypoint}")
        if self.pid_mode:
            args.append(f"--pid={self.pid_mode}")
        return args


_CONTAINER_PATH = re.compile(rf"(?<![\w.]){CONTAINER_INPUT}(?![\w.-])|(?<![\w.]){CONTAINER_OUTPUT}(?![\w.-])"
                             rf"|(?<![\w./]){CONTAINER_MODELS}(?![\w.-])")  # fmt: skip


def run_command(passthrough: Sequence[str], input_name: str = "") -> tuple[str, ...]:
    """The in-container `transcriber run` command; `input_name` picks one file of the mounted folder."""
    source = f"{CONTAINER_INPUT}/{input_name}" if input_name else CONTAINER_INPUT
    return ("run", "--input", source, "--output", CONTAINER_OUTPUT, *passthrough)


def host_user() -> str:
    """uid:gid of the caller, so the transcripts belong to the user and not to root."""
    return f"{os.getuid()}:{os.getgid()}"


def _stream_logs(container: Any, spec: ContainerSpec, out: TextIO, stream: str) -> None:
    """Copy the container's `stream` ("stdout" or "stderr") to `out`, container paths shown as host paths,
    until it exits. A closed terminal (after SIGHUP) ends the copying, not the run's shutdown."""
    pending = ""
    try:
        chunks = container.logs(stream=True, follow=True, stdout=stream == "stdout", stderr=stream == "stderr")
        for chunk in chunks:
            *lines, pending = (pending + chunk.decode("utf-8", errors="replace")).split("\n")
            for line in lines:
                out.write(spec.to_host(line) + "\n")
            out.flush()
        if pending:
            out.write(spec.to_host(pending))
            out.flush()
    except Exception:  # the terminal is gone (EIO, EPIPE), or the engine dropped the stream: wait() still
        pass  # gives the exit code, and the stop goes on


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def _signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP (a `kill`, a closed terminal, a dropped ssh) stop the run as Ctrl-C does, while
    the container runs; outside the main thread, where Python takes no signal handler, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def run_container(
    client: Any, spec: ContainerSpec, out: TextIO | None = None, err: TextIO | None = None,
    grace_s: float = STOP_GRACE_S,
) -> int:  # fmt: skip
    """Run `spec`, stream its stdout to `out` and its stderr to `err` (default: ours), and return its exit
    code. Ctrl-C, SIGTERM or SIGHUP stop it: the transcriber inside gets SIGTERM and `grace_s` seconds to
    write its summary (shown here), then the container is removed and the exit code is 130. A second
    signal cuts the grace short."""
    container = client.containers.run(**spec.docker_kwargs())
    logs = [
        threading.Thread(target=_stream_logs, args=(container, spec, target, name), daemon=True)
        for name, target in (("stdout", out or sys.stdout), ("stderr", err or sys.stderr))
    ]
    try:
        with _signals_interrupt():
            for thread in logs:
                thread.start()
            code = int(container.wait().get("StatusCode", 1))
        for thread in logs:
            thread.join(timeout=10)
        return code
    except KeyboardInterrupt:
        with _signals_interrupt():
            say("\ninterrupted: stopping the container (finished files are kept; rerun to resume)")
            container.stop(timeout=int(grace_s))
            for thread in logs:
                thread.join(timeout=5)
        return EXIT_INTERRUPTED
    finally:
        _remove(container)


def _remove(container: Any) -> None:
    """Remove the container (killing it if it still runs); one already gone is fine."""
    import docker.errors

    with suppress(docker.errors.NotFound):
        container.remove(force=True)
