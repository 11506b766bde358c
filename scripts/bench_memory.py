#!/usr/bin/env python3
"""Benchmark: peak memory of `transcriber run` against the length of one recording.

Makes recordings of the given lengths (minutes) by looping the example meeting with ffmpeg (44.1 kHz
stereo MP3, as a phone or meeting app would export), then runs each through a fresh
`python -m transcriber run` process and prints that process's own peak RSS (from `wait4`), once for
decoding alone and once for the whole run. Memory should grow by the decoded samples (16 kHz mono float32,
230 MB per hour) and not by a multiple of them. `--speakers auto` (or a count) runs each length once more
with diarization and prints that run's peak beside, so the diarizer's share shows. It prints numbers and
asserts nothing; it is not a test.

    python scripts/bench_memory.py --minutes 1 10 60 --model tiny.en            # the default settings
    python scripts/bench_memory.py --minutes 60 --model tiny.en --speakers auto  # and with speakers
    python scripts/bench_memory.py --minutes 60 --model tiny.en -- --batch-size 1  # any other flags
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MEETING = ROOT / "examples" / "recordings" / "meeting.flac"
_DECODE_ONLY = "import sys; from pathlib import Path; from transcriber.audio import decode; decode(Path(sys.argv[1]))"


def make_recording(folder: Path, minutes: float) -> Path:
    """The example meeting looped to `minutes`, encoded once and kept for reruns in `folder`."""
    path = folder / f"meeting-{minutes:g}min.mp3"
    if not path.is_file():
        subprocess.run(
            [
                *("ffmpeg", "-loglevel", "error", "-y", "-stream_loop", "-1", "-i", str(MEETING)),
                *("-t", str(minutes * 60), "-ar", "44100", "-ac", "2", "-c:a", "libmp3lame", "-b:a", "64k", str(path)),
            ],
            check=True,
        )
    return path


def peak_rss_mb(args: list[str]) -> tuple[float, float, int]:
    """(peak RSS in MB, wall seconds, exit status) of one fresh process."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    assert process.stderr is not None
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        print(stderr.decode(errors="replace"), file=sys.stderr)
    return usage.ru_maxrss / 1024, time.perf_counter() - started, process.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, nargs="+", default=[1, 10, 60])
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "transcriber-bench-memory")
    parser.add_argument("--decode-only", action="store_true", help="measure decoding alone, not the whole run")
    parser.add_argument("--speakers", help="also run each length with --speakers SPEAKERS (auto or a count)")
    parser.add_argument(
        "flags", nargs="*", help="more `transcriber run` flags after --; none: the defaults (every format, auto batch)"
    )
    opts = parser.parse_args()
    opts.workdir.mkdir(parents=True, exist_ok=True)
    runs = "" if opts.decode_only else f" {'run MB':>8} {'run s':>7}"
    runs += f" {'speakers MB':>11} {'speakers s':>10}" if opts.speakers and not opts.decode_only else ""
    print(f"{'minutes':>7} {'decode MB':>10}{runs}")
    for minutes in opts.minutes:
        recording = make_recording(opts.workdir, minutes)
        decode_mb, _, _ = peak_rss_mb([sys.executable, "-c", _DECODE_ONLY, str(recording)])
        line = f"{minutes:>7g} {decode_mb:>10.0f}"
        if not opts.decode_only:
            command = [sys.executable, "-m", "transcriber", "run", "--input", str(recording), "--model", opts.model]
            line += run(opts.workdir, [*command, *opts.flags], 8)
            if opts.speakers:
                line += run(opts.workdir, [*command, *opts.flags, "--speakers", opts.speakers], 11)
        print(line, flush=True)


def run(workdir: Path, command: list[str], width: int) -> str:
    """A whole run's peak MB and seconds as table cells, into a fresh output folder."""
    with tempfile.TemporaryDirectory(dir=workdir) as out:
        mb, seconds, code = peak_rss_mb([*command, "--output", out, "-q"])
    return f" {mb:>{width}.0f} {seconds:>{max(width - 1, 7)}.1f}" + ("" if code == 0 else f" (exit {code})")


if __name__ == "__main__":
    main()
