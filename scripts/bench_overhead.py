#!/usr/bin/env python3
"""Benchmark: `transcriber run` against plain faster-whisper with the same model and settings.

Each runner is a fresh process over the same folder, timed from start to exit (model load included) with
its own peak RSS from `wait4`, so the project's overhead (decoding, VAD, cleanup, writers, manifest) shows
as the difference. Where `<stem>.ref.txt` lies beside a recording, WER against it is printed too (jiwer,
Whisper's English normalizer). It prints numbers and asserts nothing; it is not a test.

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

_BASELINE = """
import json, sys
from pathlib import Path
from faster_whisper import WhisperModel
from transcriber.discovery import discover
from transcriber.models import resolve_model
name, path = resolve_model(sys.argv[2])
model = WhisperModel(str(path), device=sys.argv[3], compute_type=sys.argv[4])
texts = {}
for rec in discover(Path(sys.argv[1]), Path("/nonexistent")):
    segments, info = model.transcribe(
        str(rec.path), vad_filter=True, word_timestamps=True, condition_on_previous_text=False, beam_size=5
    )
    texts[rec.relative.as_posix()] = " ".join(s.text.strip() for s in segments)
print(json.dumps(texts))
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
    import jiwer
    from whisper_normalizer.english import EnglishTextNormalizer

    normalize = EnglishTextNormalizer()
    refs, hyps = [], []
    for source, text in texts.items():
        ref = (input_dir / source).with_suffix(".ref.txt")
        if ref.is_file():
            refs.append(normalize(ref.read_text(encoding="utf-8")))
            hyps.append(normalize(text))
    return jiwer.wer(refs, hyps) if refs else None


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
