#!/usr/bin/env python3
"""Benchmark: how long after a recording settles its transcript appears under `transcriber watch`.

Starts a real watcher (this Python, the given model) on an empty folder, waits until its models are loaded
by a first recording, then drops `--files` more, one at a time (each written whole, then left alone), and for
each prints: seconds from its last write to its transcript, and that minus the settle time (what the
watcher and the models added). Prints numbers and asserts nothing.

    python scripts/watch_latency.py --recording examples/recordings/meeting.flac --model tiny.en --files 5
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _wait(path: Path, timeout: float = 300) -> float:
    deadline = time.monotonic() + timeout
    while not path.is_file():
        if time.monotonic() > deadline:
            raise SystemExit(f"{path} did not appear within {timeout} s")
        time.sleep(0.02)
    return time.time()


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
        command = [sys.executable, "-m", "transcriber", "watch", "--input", str(source), "--output", str(target),
                   "--model", args.model, "--cleanup", "rules", "--formats", "txt", "--settle", str(args.settle),
                   "--quiet", *(["--poll", str(args.poll)] if args.poll else [])]  # fmt: skip
        watcher = subprocess.Popen(command, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        try:
            suffix = args.recording.suffix
            shutil.copy(args.recording, source / f"warmup{suffix}")
            _wait(target / "warmup.txt")
            latencies = []
            for i in range(args.files):
                shutil.copy(args.recording, source / f"file-{i}{suffix}")
                written = os.stat(source / f"file-{i}{suffix}").st_mtime
                latencies.append(_wait(target / f"file-{i}.txt") - written)
                print(f"file-{i}: {latencies[-1]:.2f} s after its last write, {latencies[-1] - args.settle:.2f} s "
                      "after it settled")  # fmt: skip
            extra = [x - args.settle for x in latencies]
            print(f"settle {args.settle:g} s, {'poll ' + str(args.poll) + ' s' if args.poll else 'inotify'}: "
                  f"after settling median {statistics.median(extra):.2f} s, max {max(extra):.2f} s "
                  f"over {len(extra)} files")  # fmt: skip
        finally:
            watcher.send_signal(signal.SIGTERM)
            watcher.wait(timeout=60)


if __name__ == "__main__":
    main()
