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
import shutil
import signal
import subprocess
import sys
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import ray  # noqa: F401 - the `cluster` extra is part of CI: without it these tests fail, they do not skip

from tests.support.ray_cluster import LoopbackCluster, free_ports
from tests.support.runs import RECORDINGS, run_cli
from transcriber.audio import SAMPLE_RATE, decode
from transcriber.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, ConfigError
from transcriber.settings import load_settings
from transcriber.state import STATE_DIR

pytestmark = [pytest.mark.usefixtures("tiny_en"), pytest.mark.slow]  # Ray clusters


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """HOST:PORT of a two-node cluster; its token in this process's environment, which the drivers inherit."""
    with LoopbackCluster(2) as running, pytest.MonkeyPatch.context() as patch:
        for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN"):
            patch.setenv(name, running.env[name])
        yield running.address


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


@dataclass
class _Started:
    """A driver read up to its first file sent: its stderr so far and its workers (number: (node, pid))."""

    driver: subprocess.Popen[str]
    lines: list[str]
    workers: dict[int, tuple[str, int]]

    def stderr(self) -> str:
        """All of its stderr, once it has ended."""
        assert self.driver.stderr is not None
        return "".join(self.lines) + self.driver.stderr.read()


def _at_first_file(inp: Path, out: Path, address: str) -> _Started:
    driver = _popen(inp, out, address)
    assert driver.stderr is not None
    lines: list[str] = []
    workers: dict[int, tuple[str, int]] = {}
    for line in driver.stderr:
        lines.append(line)
        if found := re.fullmatch(r"worker (\d+): node (\S+), pid (\d+)", line.strip()):
            workers[int(found[1])] = (found[2], int(found[3]))
        if "transcribing on node" in line:
            return _Started(driver, lines, workers)
    raise AssertionError(f"the driver ended before its first file: {''.join(lines)}")


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


def test_cluster_run_writes_what_a_local_run_writes(cluster: str, tmp_path: Path) -> None:
    out, local_out = tmp_path / "out", tmp_path / "local"
    result = _run(RECORDINGS, out, cluster)
    assert result.returncode == EXIT_OK, result.stderr
    # CTranslate2's sums on the CPU depend on its thread count (word probabilities and times move by a few
    # hundredths between 1 and 4 threads on some CPUs), and Ray gives each worker OMP_NUM_THREADS = its one
    # CPU: the local run it is held against gets the same.
    local_run = run_cli("run", "-i", str(RECORDINGS), "-o", str(local_out), "--model", "tiny.en",
                        env={"OMP_NUM_THREADS": "1"})  # fmt: skip
    assert local_run.returncode == EXIT_OK, local_run.stderr
    local, remote = _outputs(local_out), _outputs(out)
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


def test_diarization_runs_on_the_workers_and_hashes_as_a_local_run(cluster: str, tmp_path: Path) -> None:
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    shutil.copy(Path(__file__).parent / "fixtures" / "diarize" / "two_speakers.ogg", inp)
    result = _run(inp, out, cluster, "--speakers", "2")
    assert result.returncode == EXIT_OK, result.stderr
    speakers = [s["id"] for s in json.loads((out / "two_speakers.json").read_text())["speakers"]]
    assert speakers == ["S1", "S2"]
    assert "**Speaker 2:** Morning" in (out / "two_speakers.md").read_text()
    rerun = run_cli("run", "-i", str(inp), "-o", str(out), "--model", "tiny.en", "--speakers", "2")
    assert rerun.returncode == EXIT_OK and "0 done, 1 skipped" in rerun.stderr, rerun.stderr


def test_workers_without_the_model_are_named_in_one_line(cluster: str, tmp_path: Path) -> None:
    result = _run(RECORDINGS, tmp_path / "out", cluster, "--model", "nobody/not-cached-anywhere")
    assert result.returncode == EXIT_USAGE, result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert line.startswith("error: no Ray worker can serve this batch: node ")
    assert line.count("is not in the Hugging Face cache") == 2, line  # one reason per node
    assert not (tmp_path / "out" / "meeting.txt").exists()


def test_shared_input_sends_paths_and_auto_reads_ray_address(cluster: str, tmp_path: Path) -> None:
    inp = tmp_path / "in"
    inp.mkdir()
    shutil.copy(RECORDINGS / "meeting.flac", inp)
    (inp / "empty.wav").write_bytes(b"")
    result = run_cli("run", "-i", str(inp), "-o", str(tmp_path / "out"), "--model", "tiny.en", "--cluster", "ray",
                     "--shared-input", env={"RAY_ADDRESS": cluster})  # --ray-address auto: RAY_ADDRESS  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "budget" in (tmp_path / "out" / "meeting.txt").read_text()
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert re.fullmatch(rf"error: {re.escape(str(inp / 'empty.wav'))}: decode: on node [\d.]+: is empty \(0 bytes\); "
                        "re-export or re-copy the recording", error), result.stderr  # fmt: skip


def test_worker_killed_mid_batch_loses_nothing(cluster: str, eight: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    started = _at_first_file(eight, out, cluster)
    node, victim = started.workers[1]
    os.kill(victim, signal.SIGKILL)  # its file is in flight: it was just sent one
    driver, stderr = started.driver, started.stderr()
    assert driver.wait(timeout=300) == EXIT_OK, stderr
    assert f"worker 1 (node {node}) died; its file goes to another worker" in stderr
    assert "8 done, 0 skipped, 0 failed" in stderr
    assert len(_manifest(out)) == 8
    assert sum(name.endswith(".verbatim.txt") for name in _outputs(out)) == 8


def test_no_worker_left_stops_the_batch_with_one_line(cluster: str, eight: Path, tmp_path: Path) -> None:
    started = _at_first_file(eight, tmp_path / "out", cluster)
    for _, pid in started.workers.values():
        os.kill(pid, signal.SIGKILL)
    driver, stderr = started.driver, started.stderr()
    assert driver.wait(timeout=120) == 1, stderr
    [error] = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert re.match(r"error: no Ray worker is left \(worker \d on node [\d.]+: ActorDiedError; worker ", error), stderr
    assert error.endswith("finished files are kept: check the cluster (`ray status`) and rerun")
    assert "stopped:" in stderr


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
    [port] = free_ports(1)
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


def test_ctrl_c_ends_the_batch_with_130_and_its_workers(cluster: str, eight: Path, tmp_path: Path) -> None:
    started = _at_first_file(eight, tmp_path / "out", cluster)
    pids = [pid for _, pid in started.workers.values()]
    started.driver.send_signal(signal.SIGINT)
    driver, stderr = started.driver, started.stderr()
    assert driver.wait(timeout=120) == EXIT_INTERRUPTED, stderr
    assert "interrupted:" in stderr
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in pids), "a worker outlived its batch"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"  # a zombie is gone, only not yet reaped
    except FileNotFoundError:
        return False


def _driver_env(**changes: str | None) -> dict[str, str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def test_a_token_at_hand_is_used_and_a_wrong_one_named(cluster: str, tmp_path: Path) -> None:
    """`ray start --head` turns token auth on; a driver with the token but no RAY_AUTH_MODE still joins."""
    inp = tmp_path / "in"
    inp.mkdir()
    shutil.copy(RECORDINGS / "meeting.flac", inp)
    command = [sys.executable, "-m", "transcriber", "run", "-i", str(inp), "-o", str(tmp_path / "out"),
               "--model", "tiny.en", "--ray-address", cluster]  # fmt: skip  # --ray-address implies --cluster ray
    joined = subprocess.run(command, capture_output=True, text=True, env=_driver_env(RAY_AUTH_MODE=None), timeout=300)
    assert joined.returncode == EXIT_OK, joined.stderr
    assert f"joined {cluster}" in joined.stderr and "1 done" in joined.stderr
    wrong = _driver_env(RAY_AUTH_MODE=None, RAY_AUTH_TOKEN="0" * 64)
    refused = subprocess.run(command, capture_output=True, text=True, env=wrong, timeout=300)
    assert refused.returncode == EXIT_USAGE, refused.stderr
    [line] = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert line.startswith(f"error: --ray-address {cluster}: the cluster wants its token"), refused.stderr


def test_an_address_that_is_no_ray_head_is_one_line_not_a_hang(monkeypatch: pytest.MonkeyPatch) -> None:
    """A listener that never answers as Ray (a web server, a head shutting down) made `ray.init` block for
    good; the trial join gives up after its deadline."""
    import socket as sockets

    from transcriber.cluster import connect as joining

    monkeypatch.setattr(joining, "PROBE_SECONDS", 4.0)
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    with sockets.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        address = f"127.0.0.1:{server.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(ConfigError, match=rf"--ray-address {address}: no Ray cluster answered within 4 s"):
            joining.connect(address)
    assert time.monotonic() - started < 30
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:99999")
    with pytest.raises(ConfigError, match=r"RAY_ADDRESS '127.0.0.1:99999' must be auto, local or HOST:PORT \(port"):
        joining.connect("auto")
    with pytest.raises(ConfigError, match="Ray Client addresses"):
        joining.connect("ray://127.0.0.1:10001")


def test_sigterm_ends_a_cluster_batch_as_130(cluster: str, eight: Path, tmp_path: Path) -> None:
    """ray.init puts its own SIGTERM handler in place; ours is put back, so SIGTERM is an interrupt."""
    started = _at_first_file(eight, tmp_path / "out", cluster)
    started.driver.send_signal(signal.SIGTERM)
    driver, stderr = started.driver, started.stderr()
    assert driver.wait(timeout=120) == EXIT_INTERRUPTED, stderr
    assert "interrupted:" in stderr and "SIGTERM received" not in stderr


def test_shared_input_names_a_path_the_workers_cannot_see(
    cluster: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The driver sends absolute paths (a relative one would be taken from the worker's own folder)."""
    inp = tmp_path / "in"
    inp.mkdir()
    shutil.copy(RECORDINGS / "meeting.flac", inp)
    monkeypatch.chdir(tmp_path)
    result = run_cli("run", "-i", "in", "-o", "out", "--model", "tiny.en", "--ray-address", cluster, "--shared-input")
    assert result.returncode == EXIT_OK, result.stderr
    assert "budget" in (tmp_path / "out" / "meeting.txt").read_text()


def test_llm_cleanup_on_the_workers_writes_and_counts_as_a_local_run(cluster: str, tmp_path: Path) -> None:
    """--cleanup llm runs on the workers; their LLM statistics, summed by the driver, are a local run's."""
    inp = tmp_path / "in"
    inp.mkdir()
    shutil.copy(RECORDINGS / "meeting.flac", inp)
    llm = ("--cleanup", "llm", "--cleanup-model", "smollm2-135m-instruct")
    local = run_cli("run", "-i", str(inp), "-o", str(tmp_path / "local"), "--model", "tiny.en", *llm)
    assert local.returncode == EXIT_OK, local.stderr
    on_ray = _run(inp, tmp_path / "ray", cluster, *llm)
    assert on_ray.returncode == EXIT_OK, on_ray.stderr
    [local_line] = re.findall(r"llm cleanup: \d+ chunks, \d+ fell back", local.stderr)
    assert re.findall(r"llm cleanup: \d+ chunks, \d+ fell back", on_ray.stderr) == [local_line], on_ray.stderr
    assert (tmp_path / "ray" / "meeting.txt").read_text() == (tmp_path / "local" / "meeting.txt").read_text()
