"""`--cluster ray` on a real Ray cluster of two raylets on loopback, each with one CPU (one worker each).

The cluster is started once for the module (`ray start --head` plus `ray start --address`, each with its
own ports and a private temp dir) and stopped by killing the process groups it started. Then: the example
folder gives the same files as a local run; a worker killed mid-batch loses nothing; a driver killed
mid-batch leaves a manifest from which the rerun does only what was missing; bad addresses are one line.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import ray  # noqa: F401 - the `cluster` extra is part of CI: without it these tests fail, they do not skip

from tests.conftest import RECORDINGS, run_cli
from transcriber.audio import SAMPLE_RATE, decode
from transcriber.errors import EXIT_OK, EXIT_USAGE, ConfigError
from transcriber.settings import load_settings
from transcriber.state import STATE_DIR

pytestmark = pytest.mark.usefixtures("tiny_en")
RAY = [sys.executable, "-m", "ray.scripts.scripts"]
#: The per-node ports `ray start` would otherwise take at fixed defaults, clashing with any other cluster here.
NODE_PORTS = ("--node-manager-port", "--object-manager-port", "--metrics-export-port", "--runtime-env-agent-port",
              "--dashboard-agent-grpc-port", "--dashboard-agent-listen-port")  # fmt: skip


def _free_ports(count: int) -> list[int]:
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
    """`ray start ... --block` in a session of its own, so the test can stop exactly what it started."""
    process = subprocess.Popen([*RAY, "start", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env=env, start_new_session=True)  # fmt: skip
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if "Ray runtime started" in line:
            return process
    raise AssertionError("ray start failed:\n" + "".join(seen[-30:]))


def _stop(process: subprocess.Popen[str]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """HOST:PORT of a two-node cluster; both nodes stopped (their process groups killed) afterwards.

    Token authentication with a token of its own, given to the nodes and (through the environment) to every
    driver the tests start, so neither ~/.ray/auth_token nor its absence changes anything.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAY_AUTH_MODE", "token")
        patch.setenv("RAY_AUTH_TOKEN", secrets.token_hex(32))
        yield from _cluster()


def _cluster() -> Iterator[str]:
    temp = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))  # short: Ray's socket paths must fit 107 bytes
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "HF_HUB_OFFLINE": "1"}
    port, dashboard, *ports = _free_ports(2 + 2 * len(NODE_PORTS))
    nodes = []
    try:
        nodes.append(_start(["--head", f"--port={port}", "--include-dashboard=false", f"--dashboard-port={dashboard}",
                             f"--temp-dir={temp}", *_node_args(ports[:6])], env))  # fmt: skip
        nodes.append(_start([f"--address=127.0.0.1:{port}", *_node_args(ports[6:])], env))
        yield f"127.0.0.1:{port}"
    finally:
        for node in reversed(nodes):
            _stop(node)
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def eight(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The three examples plus five louder and softer copies of the meeting: eight files of distinct content."""
    folder = tmp_path_factory.mktemp("eight")
    shutil.copytree(RECORDINGS, folder, dirs_exist_ok=True)
    samples = decode(RECORDINGS / "meeting.flac").samples
    for n in range(5):
        pcm = (np.clip(samples * (0.5 + 0.1 * n), -1, 1) * 32767).astype("<i2")
        with wave.open(str(folder / f"copy{n}.wav"), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            out.writeframes(pcm.tobytes())
    return folder


def _run(inp: Path, out: Path, address: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli("run", "-i", str(inp), "-o", str(out), "--model", "tiny.en", "--cluster", "ray",
                   "--ray-address", address, *extra)  # fmt: skip


def _popen(inp: Path, out: Path, address: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "transcriber", "run", "-i", str(inp), "-o", str(out), "--model", "tiny.en",
               "--cluster", "ray", "--ray-address", address]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)


def _outputs(out: Path) -> dict[str, Path]:
    return {p.relative_to(out).as_posix(): p for p in out.rglob("*") if p.is_file() and STATE_DIR not in p.parts}


def _without_timings(path: Path) -> object:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.pop("timings")
    return data


def _manifest(out: Path) -> dict[str, object]:
    path = out / STATE_DIR / "manifest.json"
    return json.loads(path.read_text(encoding="utf-8"))["files"] if path.is_file() else {}


def test_cluster_settings_enter_no_hash() -> None:
    base = {"input": "in", "output": "out"}
    local = load_settings(base, {})
    ray_run = load_settings({**base, "cluster": "ray", "ray_address": "10.0.0.1:6379", "shared_input": True}, {})
    asr = local.asr_key("tiny.en", "cpu", "int8")
    assert ray_run.asr_key("tiny.en", "cpu", "int8") == asr
    assert ray_run.output_key(asr) == local.output_key(asr)


def test_cluster_run_writes_what_a_local_run_writes(cluster: str, example_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _run(RECORDINGS, out, cluster)
    assert result.returncode == EXIT_OK, result.stderr
    local, remote = _outputs(example_run), _outputs(out)
    assert set(remote) == set(local)
    for name, path in local.items():
        if name.endswith(".json"):
            assert _without_timings(remote[name]) == _without_timings(path), name
        else:
            assert remote[name].read_bytes() == path.read_bytes(), name
    workers = [line for line in result.stderr.splitlines() if line.startswith("worker ") and "audio-s" in line]
    assert len(workers) == 2, result.stderr  # one per raylet, both used
    assert sum(int(line.split(": ")[1].split()[0]) for line in workers) == 3
    rerun = run_cli("run", "-i", str(RECORDINGS), "-o", str(out), "--model", "tiny.en")  # local, same hashes
    assert rerun.returncode == EXIT_OK and "0 done, 3 skipped" in rerun.stderr, rerun.stderr


def test_shared_input_sends_paths(cluster: str, tmp_path: Path) -> None:
    inp = tmp_path / "in"
    inp.mkdir()
    shutil.copy(RECORDINGS / "meeting.flac", inp)
    (inp / "empty.wav").write_bytes(b"")
    result = _run(inp, tmp_path / "out", cluster, "--shared-input")
    assert result.returncode == 1, result.stderr
    assert "budget" in (tmp_path / "out" / "meeting.txt").read_text()
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert re.fullmatch(rf"error: {re.escape(str(inp / 'empty.wav'))}: decode: on node [\d.]+: is empty \(0 bytes\); "
                        "re-export or re-copy the recording", error), result.stderr  # fmt: skip


def test_worker_killed_mid_batch_loses_nothing(cluster: str, eight: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    driver = _popen(eight, out, cluster)
    assert driver.stderr is not None
    lines, victim, node = [], 0, ""
    for line in driver.stderr:
        lines.append(line)
        if line.startswith("worker 1: node") and not victim:
            node, pid = line.split("node ")[1].split(", pid ")
            victim = int(pid)
        if "transcribing on node" in line and victim:
            os.kill(victim, signal.SIGKILL)  # its files are in flight: it was just sent two
            break
    stderr = "".join(lines) + driver.stderr.read()
    assert driver.wait(timeout=300) == EXIT_OK, stderr
    assert f"worker 1 (node {node}) died; its file goes to another worker" in stderr
    assert "8 done, 0 skipped, 0 failed" in stderr
    assert len(_manifest(out)) == 8
    assert sum(name.endswith(".verbatim.txt") for name in _outputs(out)) == 8


def test_driver_killed_mid_batch_rerun_does_only_the_rest(cluster: str, eight: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    driver = _popen(eight, out, cluster)
    deadline = time.monotonic() + 300
    while not _manifest(out) and driver.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    driver.kill()
    driver.wait()
    done = len(_manifest(out))
    assert 0 < done < 8, f"{done} files were done when the driver was killed"
    rerun = _run(eight, out, cluster)
    assert rerun.returncode == EXIT_OK, rerun.stderr
    assert f"{8 - done} done, {done} skipped, 0 failed" in rerun.stderr
    assert len(_manifest(out)) == 8


def test_unreachable_address_is_one_line(tmp_path: Path) -> None:
    [port] = _free_ports(1)
    result = _run(RECORDINGS, tmp_path / "out", f"127.0.0.1:{port}")
    assert result.returncode == EXIT_USAGE
    [line] = result.stderr.strip().splitlines()[-1:]
    assert line.startswith(f"error: --ray-address 127.0.0.1:{port}: no Ray head answers there")
    assert "ray start --head" in line and "--ray-address local" in line
    malformed = _run(RECORDINGS, tmp_path / "out", "nowhere")
    assert malformed.returncode == EXIT_USAGE and "must be auto, local or HOST:PORT" in malformed.stderr


def test_missing_ray_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from transcriber.cluster.connect import connect

    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets without the extra
    with pytest.raises(ConfigError, match=r"pip install -e '\.\[cluster\]'"):
        connect("local")


def test_local_address_starts_a_cluster_in_the_process(tmp_path: Path) -> None:
    inp = tmp_path / "in"
    inp.mkdir()
    shutil.copy(RECORDINGS / "meeting.flac", inp)
    result = _run(inp, tmp_path / "out", "local")
    assert result.returncode == EXIT_OK, result.stderr
    assert "(started here)" in result.stderr and "1 done" in result.stderr
    assert "budget" in (tmp_path / "out" / "meeting.txt").read_text()
