"""`invoke watch`: a folder watcher as a detached, named container that comes back after a crash or a reboot.

The container gets a run's request (GPU, model cache, caller's uid, no network, read-only input) plus a
name and labels derived from the output folder (one watcher per output folder; the in-container lock
enforces it too), the `unless-stopped` restart policy and a health check (`transcriber watch --health`).
Its progress is read from the status file it keeps in the output folder, which the host can read directly.
"""

from __future__ import annotations

import hashlib
import re
import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from transcriber.errors import ConfigError, TranscriberError, display
from transcriber.host.actions import HostPaths, container_spec, default_output, flag_value
from transcriber.host.container import CONTAINER_INPUT, CONTAINER_OUTPUT, ContainerSpec, GpuAccess
from transcriber.host.docker_engine import docker_client, require_image
from transcriber.host.envfiles import default_model
from transcriber.watch.status import output_fault, read_status

#: Every watcher container carries this label, valued with its host output folder (and the input beside it).
LABEL = "transcriber.watch"
INPUT_LABEL = "transcriber.watch.input"
#: How long `invoke watch` waits for the new watcher to report that it watches.
START_WAIT_S = 180.0
#: SIGTERM first: the file in hand is written or abandoned whole, then the watcher exits 130.
STOP_TIMEOUT_S = 60
_NO_GPU = GpuAccess(kind="cpu")


def watcher_name(output: Path) -> str:
    """`transcriber-watch-<folder>-<hash of the full path>`: readable, and one per output folder."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", output.name).strip("-.")[:40] or "out"
    digest = hashlib.sha256(str(output).encode()).hexdigest()[:8]
    return f"transcriber-watch-{slug}-{digest}"


def watch_command(flags: Sequence[str], default: str) -> tuple[str, ...]:
    """The in-container `transcriber watch`; a pipeline without --model gets `default` (env's for the GPU)."""
    chosen = list(flags)
    if flag_value(chosen, "--backend") in (None, "pipeline") and flag_value(chosen, "--model") is None:
        chosen = ["--model", default, *chosen]
    return ("watch", "--input", CONTAINER_INPUT, "--output", CONTAINER_OUTPUT, *chosen)


def watch_spec(paths: HostPaths, source: Path, target: Path, flags: Sequence[str]) -> ContainerSpec:
    """A run's request made into a long-lived watcher of `source` writing to `target`."""
    spec = container_spec(paths, (), source, target)
    command = watch_command(flags, default_model(paths.config(), spec.gpu.kind))
    health = ("python", "-m", "transcriber", "watch", "--health", "--output", CONTAINER_OUTPUT)
    labels = {LABEL: str(target), INPUT_LABEL: str(source)}
    return replace(spec, command=command, name=watcher_name(target), labels=labels, restart="unless-stopped",
                   healthcheck=health, strict_mounts=True)  # fmt: skip


def start_watch(
    paths: HostPaths, source: Path, target: Path, flags: Sequence[str], connect: Callable[[], Any] = docker_client,
    wait_s: float = START_WAIT_S,
) -> ContainerSpec:  # fmt: skip
    """Start the watcher and wait until it reports that it watches; one that fails first (a bad flag, a
    locked output) is removed, so the restart policy does not retry it forever, and its error raised."""
    if not source.is_dir():
        raise ConfigError(f"--input {source}: watch needs a folder to watch; give a folder of recordings")
    spec = watch_spec(paths, source, target, flags)
    client = connect()
    require_image(client, spec.image)
    for old in client.containers.list(all=True, filters={"name": f"^{spec.name}$"}):
        if old.status in ("running", "restarting", "created"):
            raise ConfigError(f"{display(target)} is already watched by {old.name}: invoke watch --status, or --stop")
        old.remove(force=True)
    target.mkdir(parents=True, exist_ok=True)
    started = time.time()
    container = client.containers.run(**spec.docker_kwargs())
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        container.reload()
        restarted = container.attrs.get("RestartCount", 0) > 0
        if container.status not in ("created", "running") or restarted:
            logs = spec.to_host(container.logs(tail=20).decode("utf-8", errors="replace"))
            container.remove(force=True)
            last = next((line for line in reversed(logs.strip().splitlines()) if line.strip()), "no output")
            raise TranscriberError(f"the watcher {spec.name} exited: {last.strip()[:400]}")
        status = read_status(target)
        if status is not None and status.heartbeat >= started - 1 and status.state not in ("starting", "stopped"):
            return spec
        time.sleep(0.5)
    raise TranscriberError(f"the watcher {spec.name} did not report within {wait_s:.0f} s (invoke watch --logs)")


def target_of(input_dir: str | None, output: str | None) -> Path | None:
    """The output folder `--status`, `--logs` or `--stop` mean: --output, else --input's default; None: all."""
    if output:
        return Path(output).expanduser().resolve()
    return default_output(Path(input_dir).expanduser().resolve()) if input_dir else None


def watchers(client: Any, target: Path | None) -> list[Any]:
    """Our watcher containers, all of them or the one of `target`."""
    found = client.containers.list(all=True, filters={"label": LABEL})
    return [c for c in found if target is None or c.labels.get(LABEL) == str(target)]


def _one(client: Any, target: Path | None) -> Any:
    found = watchers(client, target)
    if not found:
        where = f" of {display(target)}" if target else ""
        raise ConfigError(f"no watcher{where} is running: start one with invoke watch --input DIR")
    if len(found) > 1:
        names = ", ".join(sorted(c.labels.get(LABEL, c.name) for c in found))
        raise ConfigError(f"{len(found)} watchers run ({names}): name one with --output")
    return found[0]


def _to_host(container: Any, text: str) -> str:
    """Container paths in a watcher's words turned into the host folders it watches and writes."""
    input_dir, output = container.labels.get(INPUT_LABEL, ""), container.labels.get(LABEL, "")
    spec = ContainerSpec(image="", command=(), input_dir=Path(input_dir) if input_dir else None,
                         output_dir=Path(output) if output else None, model_cache=Path("/models"),
                         gpu=_NO_GPU, user="")  # fmt: skip
    return spec.to_host(text)


def _ago(when: float) -> str:
    seconds = max(0, int(time.time() - when))
    return f"{seconds} s ago" if seconds < 120 else f"{seconds // 60} min ago"


def describe(container: Any) -> list[str]:
    """`invoke watch --status` for one watcher: the container's state and health, then the watcher's own."""
    state = container.attrs.get("State", {})
    health = state.get("Health", {}).get("Status") if container.status == "running" else None
    output = container.labels.get(LABEL, "")
    lines = [f"{container.name}: {container.status}{f' ({health})' if health else ''}, "
             f"{container.labels.get(INPUT_LABEL, '?')} -> {output}"]  # fmt: skip
    lines += _why_not_running(container)
    status = read_status(Path(output)) if output else None
    if status is None:
        return [*lines, "  no status written yet"]
    detail = f" ({_to_host(container, status.detail)})" if status.detail else ""
    restarts = f", restarts: {status.restarts}" if status.restarts else ""
    lines.append(f"  {status.state}{detail}; {status.files_done} done, {status.files_failed} failed since "
                 f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(status.started))}{restarts}"
                 f"; models {'loaded' if status.models_loaded else 'not loaded'}")  # fmt: skip
    if status.last_file:
        finished = f", last finished {_ago(status.last_done)}" if status.last_done else ""
        lines.append(f"  last file: {_to_host(container, status.last_file)}{finished}")
    if status.last_error:
        lines.append(f"  last error: {_to_host(container, status.last_error)}")
    if fault := output_fault(Path(output)):  # the watcher cannot say so itself: its status is in there too
        lines.append(f"  paused: {output} cannot be written ({fault}); the watcher goes on once it can")
    return lines


def _why_not_running(container: Any) -> list[str]:
    """For a watcher that does not run: its input folder is gone (a restart cannot mount it), or the
    engine's own reason; nothing for a running one."""
    if container.status == "running":
        return []
    source = container.labels.get(INPUT_LABEL, "")
    if source and not Path(source).is_dir():
        return [f"  its input folder {source} is gone: make it again, then invoke watch --input {shlex.quote(source)}"]
    error = container.attrs.get("State", {}).get("Error")
    return [f"  the engine could not start it: {error}"] if error else []


def watch_status(target: Path | None, connect: Callable[[], Any] = docker_client) -> list[str]:
    found = watchers(connect(), target)
    if not found:
        return ["no watcher is running" + (f" for {display(target)}" if target else "")]
    return [line for container in found for line in describe(container)]


def watch_logs(target: Path | None, tail: int = 200, connect: Callable[[], Any] = docker_client) -> str:
    container = _one(connect(), target)
    return _to_host(container, container.logs(tail=tail).decode("utf-8", errors="replace"))


def stop_watch(target: Path | None, connect: Callable[[], Any] = docker_client) -> list[tuple[str, int]]:
    """Stop (SIGTERM, then wait for the file in hand) and remove the watcher(s); (name, exit code) each."""
    client = connect()
    found = watchers(client, target)
    if not found:
        raise ConfigError("no watcher is running" + (f" for {display(target)}" if target else ""))
    stopped = []
    for container in found:
        container.stop(timeout=STOP_TIMEOUT_S)
        container.reload()
        stopped.append((container.name, int(container.attrs["State"]["ExitCode"])))
        container.remove(force=True)
    return stopped
