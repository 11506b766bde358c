"""`--cluster ray --speakers auto`: the same voice is one id across the batch, as in a local run (issue 22).

Two raylets with one CPU each, so two workers. The driver holds the batch's one speaker registry and gives
the ids file by file in the folder's order; a worker that kept its own registry would number the voices it
happened to get from S1 (the file the second worker gets first would take the first worker's S1).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import ray  # noqa: F401 - the `cluster` extra is part of CI: without it these tests fail, they do not skip

from tests.support.ray_cluster import LoopbackCluster
from tests.support.runs import run_cli
from transcriber.audio import SAMPLE_RATE, decode
from transcriber.cluster.stages import _InOrder
from transcriber.diarize.der import read_rttm
from transcriber.errors import EXIT_FILES_FAILED, EXIT_OK
from transcriber.state import STATE_DIR

SPEAKERS = Path(__file__).resolve().parent / "fixtures" / "speakers"


@pytest.fixture(scope="module")
def cluster() -> Iterator[LoopbackCluster]:
    with LoopbackCluster(2) as running:
        yield running


def _alone(meeting: str, voice: str) -> np.ndarray:
    """The turns of `voice` in `meeting` that nobody talks over, joined with 0.3 s pauses."""
    samples = decode(SPEAKERS / f"{meeting}.ogg").samples
    reference = read_rttm(SPEAKERS / f"{meeting}.rttm")
    alone = [t for t in reference if t.speaker == voice
             and not any(o is not t and o.start < t.end and t.start < o.end for o in reference)]  # fmt: skip
    pause = np.zeros(int(0.3 * SAMPLE_RATE), dtype=np.float32)
    return np.concatenate([np.concatenate([samples[int(t.start * SAMPLE_RATE) : int(t.end * SAMPLE_RATE)], pause])
                           for t in alone])  # fmt: skip


def _ids(out: Path, name: str) -> list[str]:
    return [s["id"] for s in json.loads((out / f"{name}.json").read_text())["speakers"]]


@pytest.mark.slow  # a Ray cluster, the neural diarizer
@pytest.mark.usefixtures("tiny_en")
def test_one_voice_is_one_id_across_workers_and_as_a_local_run(cluster: LoopbackCluster, tmp_path: Path) -> None:
    """a.wav (one voice, 67 s) goes to worker 1, b.wav (another voice, 22 s) to worker 2, c.wav (that voice
    again, from another meeting) to worker 1 after a.wav. Workers with a registry each, seeded from the output
    folder when their first file is diarized, numbered the voices in the order the files finished (seen before
    the fix: b S1, a S2, c S1) or, where neither had read the other's JSON yet, gave both voices S1; a local
    run and the driver's one registry number them in the folder's order."""
    import soundfile

    inp, out, local_out = tmp_path / "in", tmp_path / "out", tmp_path / "local"
    inp.mkdir()
    soundfile.write(inp / "a.wav", decode(SPEAKERS / "test_00_1spk.ogg").samples, SAMPLE_RATE)
    soundfile.write(inp / "b.wav", _alone("test_01_2spk", "rms-112"), SAMPLE_RATE)
    soundfile.write(inp / "c.wav", _alone("test_02_2spk", "rms-112"), SAMPLE_RATE)
    flags = ("--model", "tiny.en", "--speakers", "auto")
    ray_env = {name: cluster.env[name] for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")}
    result = run_cli("run", "-i", str(inp), "-o", str(out), *flags, "--ray-address", cluster.address, env=ray_env)
    assert result.returncode == EXIT_OK, result.stderr
    files = [int(n) for n in re.findall(r"^worker \d \(node \S+, pid \d+\): (\d) files?", result.stderr, re.M)]
    assert sorted(files) == [1, 2], result.stderr  # both workers diarized
    assert [_ids(out, name) for name in "abc"] == [["S1"], ["S2"], ["S2"]]
    # The same thread count as the workers' (CTranslate2's CPU sums depend on it), as in test_cluster.
    local = run_cli("run", "-i", str(inp), "-o", str(local_out), *flags, env={"OMP_NUM_THREADS": "1"})
    assert local.returncode == EXIT_OK, local.stderr
    for path in sorted(p for p in local_out.rglob("*") if p.is_file() and STATE_DIR not in p.parts):
        mine = out / path.relative_to(local_out)
        if path.suffix == ".json":
            assert {**json.loads(mine.read_text()), "timings": None} == {**json.loads(path.read_text()),
                                                                         "timings": None}, path.name  # fmt: skip
        else:
            assert mine.read_bytes() == path.read_bytes(), path.name


def test_results_are_taken_in_the_folders_order_and_past_lost_files_when_the_workers_are_gone() -> None:
    taken: list[int] = []
    order = _InOrder(ordered=True)
    for index in (1, 2, 3, 4):
        order.expect(index)
    order.put(3, lambda: taken.append(3))
    order.put(1, lambda: taken.append(1))
    assert taken == [1]  # 3 waits for 2
    order.put(4, lambda: taken.append(4))
    order.flush()  # 2 never comes back: its worker died with the last of them
    assert taken == [1, 3, 4]
    unordered = _InOrder(ordered=False)  # no diarization: each file as it comes
    unordered.put(2, lambda: taken.append(2))
    assert taken == [1, 3, 4, 2]


@pytest.mark.slow  # a Ray cluster, the neural diarizer, three runs
@pytest.mark.usefixtures("tiny_en")
def test_workers_gone_mid_batch_keep_what_is_done_and_the_rerun_numbers_as_one_run(
    cluster: LoopbackCluster, tmp_path: Path
) -> None:
    """a.wav (voice X, 22 s) finishes first while b.wav (voice Y, 67 s) is still on the other worker; then every
    worker is killed. The batch stops with a's outputs whole and its ids given; the rerun does b and c and
    numbers them against a's JSON, so the folder ends as one uninterrupted local run leaves it (X S1, Y S2,
    X again S1), nothing lost and no voice renamed by the interruption."""
    import soundfile

    inp, out, local_out = tmp_path / "in", tmp_path / "out", tmp_path / "local"
    inp.mkdir()
    soundfile.write(inp / "a.wav", _alone("test_01_2spk", "rms-112"), SAMPLE_RATE)
    soundfile.write(inp / "b.wav", decode(SPEAKERS / "test_00_1spk.ogg").samples, SAMPLE_RATE)
    soundfile.write(inp / "c.wav", _alone("test_02_2spk", "rms-112"), SAMPLE_RATE)
    flags = ("--model", "tiny.en", "--speakers", "auto", "--ray-address", cluster.address)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **{n: cluster.env[n] for n in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")}}
    command = [sys.executable, "-m", "transcriber", "run", "-i", str(inp), "-o", str(out), *flags]
    driver = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(driver.stderr or []), daemon=True)
    reader.start()
    deadline = time.monotonic() + 300
    while not (out / "a.json").exists() and driver.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not (out / "b.json").exists(), "b finished before a: the batch could not be cut between them"
    pids = [int(p) for p in re.findall(r"^worker \d+: node \S+, pid (\d+)$", "".join(lines), re.M)]
    assert len(pids) == 2, "".join(lines)
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    assert driver.wait(timeout=120) == EXIT_FILES_FAILED
    reader.join(timeout=10)
    stderr = "".join(lines)
    assert "no Ray worker is left" in stderr, stderr
    assert _ids(out, "a") == ["S1"] and (out / "a.txt").is_file()
    assert not (out / "b.json").exists()
    rerun = run_cli("run", "-i", str(inp), "-o", str(out), *flags, env=env)
    assert rerun.returncode == EXIT_OK, rerun.stderr
    assert re.search(r"\b2 done, 1 skipped, 0 failed", rerun.stderr), rerun.stderr
    local = run_cli("run", "-i", str(inp), "-o", str(local_out), "--model", "tiny.en", "--speakers", "auto",
                    env={"OMP_NUM_THREADS": "1"})  # fmt: skip
    assert local.returncode == EXIT_OK, local.stderr
    assert [_ids(out, n) for n in "abc"] == [_ids(local_out, n) for n in "abc"] == [["S1"], ["S2"], ["S1"]]
