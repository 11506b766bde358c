#!/usr/bin/env python3
"""Benchmark: one folder transcribed locally, on a Ray cluster of one CPU worker, and of two; Ray's costs.

The folder: the three examples, the three dialogue fixtures and `--copies` louder/softer copies of the
meeting (distinct content, so nothing comes from the raw cache). Each run is a fresh `transcriber run`
into a fresh output folder with tiny.en; the clusters are raylets on loopback with one CPU each
(`tests/support/ray_cluster.py`). Every stderr line is timestamped as it arrives, so a run splits into its start
(process start to the first file sent: for Ray, joining the cluster and starting the workers) and its
span (first file sent to the summary: model load plus the files). Ray's overhead per file is the
one-worker span minus the local span, over the file count. Prints numbers and asserts nothing.

    python scripts/bench_cluster.py [--copies 4]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def make_folder(folder: Path, copies: int) -> int:
    """The benchmark's recordings in `folder`; returns how many."""
    from transcriber.audio import SAMPLE_RATE, decode

    shutil.copytree(ROOT / "examples" / "recordings", folder, dirs_exist_ok=True)
    for name in ("one_speaker", "two_speakers", "three_speakers"):
        shutil.copy(ROOT / "tests" / "fixtures" / "diarize" / f"{name}.ogg", folder)
    samples = decode(folder / "meeting.flac").samples
    for n in range(copies):
        with wave.open(str(folder / f"copy{n}.wav"), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            out.writeframes((np.clip(samples * (0.5 + 0.1 * n), -1, 1) * 32767).astype("<i2").tobytes())
    return 6 + copies


def timed_run(inp: Path, env: dict[str, str], *extra: str) -> tuple[float, float, list[str]]:
    """(seconds to the first file sent, seconds from there to the end, the stderr lines) of one run."""
    out = Path(tempfile.mkdtemp(prefix="bench-cluster-out-"))
    command = [sys.executable, "-m", "transcriber", "run", "-i", str(inp), "-o", str(out), "--model", "tiny.en", *extra]
    started = time.perf_counter()
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env={**env, "HF_HUB_OFFLINE": "1"})
    assert process.stderr is not None
    first, lines = 0.0, []
    for line in process.stderr:
        lines.append(line.rstrip())
        if not first and "transcribing" in line:
            first = time.perf_counter() - started
    code = process.wait()
    total = time.perf_counter() - started
    shutil.rmtree(out, ignore_errors=True)
    if code != 0:
        raise SystemExit(f"run failed ({code}):\n" + "\n".join(lines[-20:]))
    return first, total - first, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=4, help="copies of the meeting added to the folder (default 4)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.support.ray_cluster import LoopbackCluster

    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as temp:
        files = make_folder(Path(temp), args.copies)
        rows = {"local": timed_run(Path(temp), dict(os.environ))}
        for workers in (1, 2):
            with LoopbackCluster(workers) as cluster:
                ray_args = ("--cluster", "ray", "--ray-address", cluster.address)
                rows[f"ray, {workers} CPU worker{'s' * (workers > 1)}"] = timed_run(Path(temp), cluster.env, *ray_args)
    print(f"{files} files, tiny.en, int8 on the CPU, {os.cpu_count()} cores on this machine")
    print(f"{'run':<22} {'start s':>8} {'span s':>8} {'wall s':>8}")
    for name, (start, span, _) in rows.items():
        print(f"{name:<22} {start:>8.1f} {span:>8.1f} {start + span:>8.1f}")
    (local_start, local_span, _), (one_start, one_span, _) = rows["local"], rows["ray, 1 CPU worker"]
    print(f"Ray start (join the cluster, start the workers) beyond a local start: {one_start - local_start:.1f} s")
    print(f"Ray overhead per file (1-worker span - local span) / files: {(one_span - local_span) / files:.3f} s")
    for line in rows["ray, 2 CPU workers"][2]:
        if line.startswith(("worker ", "ray: ", "finished")):
            print("  2 workers | " + line)


if __name__ == "__main__":
    main()
