#!/usr/bin/env python3
"""Benchmark: a folder of short distinct voice notes with and without decoding the next file ahead.

Makes `--files` distinct recordings with espeak-ng (different sentences, voices and speeds, each encoded
to Opus as phones do), then runs the whole batch in-process twice per mode (`transcriber.api.run`,
tiny.en, no cleanup, txt only), with decoding one file ahead (`transcriber.prefetch`) and with it switched
off, and prints the fastest wall time of each. Prints numbers and asserts nothing. Needs espeak-ng, ffmpeg.

    python scripts/bench_prefetch.py --files 40
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORDS = ("budget report meeting Friday Berlin twelve tasks Sarah deadline March invoice client call doctor "
         "appointment Tuesday milk bread garden train station ticket seven forty hotel").split()  # fmt: skip
VOICES = ("en-us", "en-gb", "en-us+f3", "en-gb+m3")


def make_folder(folder: Path, count: int) -> float:
    """`count` distinct recordings of 4-8 s; returns their total duration in seconds."""
    from transcriber.audio import decode

    total = 0.0
    for i in range(count):
        words = [WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(10 + i % 6)]
        text = f"Note {i + 1}. Remember the " + " ".join(words) + "."
        wav, out = folder / f"{i:02d}.wav", folder / f"note {i:02d}.ogg"
        subprocess.run(["espeak-ng", "-v", VOICES[i % len(VOICES)], "-s", str(140 + (i % 5) * 10), "-w", str(wav),
                        text], check=True)  # fmt: skip
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(wav), "-ar", "48000", "-c:a", "libopus",
                        "-b:a", "32k", str(out)], check=True)  # fmt: skip
        wav.unlink()
        total += decode(out).duration
    return total


def timed_run(folder: Path, prefetch: bool) -> float:
    from transcriber import prefetch as module
    from transcriber.api import run
    from transcriber.progress import make_reporter
    from transcriber.settings import load_settings

    original = module.Prefetcher.ahead
    if not prefetch:
        module.Prefetcher.ahead = lambda self, path: None  # type: ignore[method-assign]
    try:
        with tempfile.TemporaryDirectory() as out:
            flags = {"input": str(folder), "output": out, "model": "tiny.en", "cleanup": "none", "formats": "txt",
                     "quiet": True}  # fmt: skip
            started = time.perf_counter()
            summary = run(load_settings(flags, {}), make_reporter(True))
            assert summary.done == len(list(folder.iterdir())), summary.render()
            return time.perf_counter() - started
    finally:
        module.Prefetcher.ahead = original  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    if not (shutil.which("espeak-ng") and shutil.which("ffmpeg")):
        sys.exit("needs espeak-ng and ffmpeg: apt-get install espeak-ng ffmpeg")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        audio = make_folder(folder, args.files)
        print(f"{args.files} recordings, {audio:.0f} s of audio; tiny.en, batch size auto, no cleanup")
        times = {mode: float("inf") for mode in ("inline decode", "decode one ahead")}
        for _ in range(args.repeats):  # alternate, so a change in machine load hits both modes alike
            times["inline decode"] = min(times["inline decode"], timed_run(folder, prefetch=False))
            times["decode one ahead"] = min(times["decode one ahead"], timed_run(folder, prefetch=True))
        for mode, seconds in times.items():
            print(f"{mode:<17} {seconds:6.1f} s wall, real-time factor {seconds / audio:.3f}")


if __name__ == "__main__":
    main()
