#!/usr/bin/env python3
"""Benchmark: `transcriber run` against plain faster-whisper (the bench's baseline) with the same model.

Each runner is a fresh process over the same folder, timed from start to exit (model load included) with
its own peak RSS from `wait4`, so the project's overhead (decoding, VAD, cleanup, writers, manifest) shows
as the difference. Where `<stem>.ref.txt` lies beside a recording, WER against it is printed too (scored by
`transcriber.bench.metrics`). It prints numbers and asserts nothing; it is not a test.

    python scripts/bench_overhead.py --input examples/recordings --model tiny.en
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The benchmark's own baseline (transcriber.bench.baseline), in a process of its own so its RSS is its own.
_BASELINE = """
import json, sys
from pathlib import Path
from transcriber.bench.baseline import load_plain, plain_text
from transcriber.discovery import discover
_, whisper = load_plain(sys.argv[2], sys.argv[3], sys.argv[4])
recordings = discover(Path(sys.argv[1]), Path("/nonexistent"))
print(json.dumps({r.relative.as_posix(): plain_text(whisper, str(r.path))[0] for r in recordings}))
"""


def _timed(args: list[str]) -> tuple[float, float, str]:
    """Run `args`; return (wall seconds, peak RSS in MB, stdout)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) not in (0, 1):
            sys.exit(f"{args[:4]} failed with exit status {os.waitstatus_to_exitcode(status)}")
        out.seek(0)
        return wall, usage.ru_maxrss / 1024, out.read()


def _wer(input_dir: Path, texts: dict[str, str]) -> float | None:
    """WER over the recordings with a `<stem>.ref.txt`, scored as `transcriber bench` scores it."""
    from transcriber.bench.metrics import Counts, score

    counts = Counts()
    for source, text in texts.items():
        ref = (input_dir / source).with_suffix(".ref.txt")
        if ref.is_file():
            counts += score(text, text, ref.read_text(encoding="utf-8"), None)
    return counts.rates()["wer"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", type=Path, required=True, help="folder of recordings")
    parser.add_argument("--model", default="tiny.en", help="catalog name or model folder")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--compute-type", default="int8", help="CTranslate2 compute type")
    args = parser.parse_args()

    from transcriber.audio import decode
    from transcriber.discovery import discover

    recordings = discover(args.input, Path("/nonexistent"))
    audio_seconds = sum(decode(r.path).duration for r in recordings)
    rows = []
    with tempfile.TemporaryDirectory() as out:
        wall, rss, _ = _timed(
            [
                sys.executable,
                "-m",
                "transcriber",
                "run",
                "--input",
                str(args.input),
                "--output",
                out,
                "--quiet",
                "--model",
                args.model,
                "--device",
                args.device,
                "--compute-type",
                args.compute_type,
            ]
        )
        texts = {}
        for path in Path(out).rglob("*.json"):
            if ".transcriber" not in path.parts:
                data = json.loads(path.read_text(encoding="utf-8"))
                texts[data["source"]] = data["verbatim_text"]
        rows.append(("transcriber run", wall, rss, _wer(args.input, texts)))
    wall, rss, stdout = _timed(
        [sys.executable, "-c", _BASELINE, str(args.input), args.model, args.device, args.compute_type]
    )
    rows.append(("plain faster-whisper", wall, rss, _wer(args.input, json.loads(stdout))))

    print(
        f"{len(recordings)} files, {audio_seconds:.1f} s audio, model {args.model}, {args.device}/{args.compute_type}"
    )
    print(f"{'runner':<22} {'wall s':>7} {'RTF':>6} {'peak RSS MB':>12} {'WER':>6}")
    for name, wall, rss, wer in rows:
        wer_text = f"{wer:.3f}" if wer is not None else "-"
        print(f"{name:<22} {wall:>7.2f} {wall / audio_seconds:>6.3f} {rss:>12.0f} {wer_text:>6}")


if __name__ == "__main__":
    main()
