#!/usr/bin/env python3
"""Benchmark: how long after a recording settles its transcript appears under `transcriber watch`.

Starts a real watcher (this Python, the given model) on an empty folder, waits until its models are loaded
by a first recording, then drops `--files` more, one at a time (each written whole, then left alone), and for
each prints: seconds from its last write to its transcript, and that minus the settle time (what the
watcher and the models added). Each file is the recording as a WAV led by a different stretch of silence,
so none is served from the raw cache. Prints numbers and asserts nothing.

    python scripts/watch_latency.py --recording examples/recordings/meeting.flac --model tiny.en --files 5
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def _read_groups(watcher: subprocess.Popen[str], groups: list[float]) -> None:
    assert watcher.stderr is not None
    for line in watcher.stderr:
        if found := re.search(r"audio in ([0-9.]+) s", line):
            groups.append(float(found.group(1)))


def _wait(path: Path, timeout: float = 300) -> float:
    deadline = time.monotonic() + timeout
    while not path.is_file():
        if time.monotonic() > deadline:
            raise SystemExit(f"{path} did not appear within {timeout} s")
        time.sleep(0.02)
    return time.time()


def _write_copies(recording: Path, folder: Path, count: int) -> list[Path]:
    """`count` distinct WAVs of `recording` (a different lead-in of silence each), made before timing starts."""
    import wave

    import numpy as np

    from transcriber.audio import SAMPLE_RATE, decode

    pcm = (decode(recording).samples * 32767).astype(np.int16).tobytes()
    print(f"{recording}: {len(pcm) / 2 / SAMPLE_RATE:.1f} s of audio")
    paths = []
    for i in range(count):
        paths.append(folder / f"file-{i}.wav")
        with wave.open(str(paths[-1]), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            out.writeframes(bytes(320 * (i + 1)) + pcm)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recording", type=Path, default=Path("examples/recordings/meeting.flac"))
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--files", type=int, default=5)
    parser.add_argument("--settle", type=float, default=5.0)
    parser.add_argument("--poll", type=float, help="measure the polling watcher instead of inotify")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        source, target = Path(scratch) / "in", Path(scratch) / "out"
        source.mkdir()
        staged = Path(scratch) / "staged"
        staged.mkdir()
        copies = _write_copies(args.recording, staged, args.files + 1)
        command = [sys.executable, "-m", "transcriber", "watch", "--input", str(source), "--output", str(target),
                   "--model", args.model, "--cleanup", "rules", "--formats", "txt", "--settle", str(args.settle),
                   *(["--poll", str(args.poll)] if args.poll else [])]  # fmt: skip
        watcher = subprocess.Popen(command, env={**os.environ, "HF_HUB_OFFLINE": "1"}, stderr=subprocess.PIPE,
                                   text=True)  # fmt: skip
        groups: list[float] = []  # each group's own wall time, from its summary line ("... in 2.1 s")
        threading.Thread(target=_read_groups, args=(watcher, groups), daemon=True).start()
        try:
            shutil.copy(copies[-1], source / "warmup.wav")
            _wait(target / "warmup.txt")
            latencies = []
            for i, copy in enumerate(copies[:-1]):
                shutil.copy(copy, source / copy.name)
                written = os.stat(source / copy.name).st_mtime
                latencies.append(_wait(target / f"file-{i}.txt") - written)
                time.sleep(0.2)  # its summary line
                print(f"file-{i}: {latencies[-1]:.2f} s after its last write, {latencies[-1] - args.settle:.2f} s "
                      f"after it settled, the batch itself (decode to write) {groups[-1]:.2f} s")  # fmt: skip
            extra = [x - args.settle for x in latencies]
            print(f"settle {args.settle:g} s, {'poll ' + str(args.poll) + ' s' if args.poll else 'inotify'}: "
                  f"after settling median {statistics.median(extra):.2f} s, max {max(extra):.2f} s "
                  f"over {len(extra)} files")  # fmt: skip
        finally:
            watcher.send_signal(signal.SIGTERM)
            watcher.wait(timeout=60)


if __name__ == "__main__":
    main()
