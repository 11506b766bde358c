#!/usr/bin/env python3
"""Benchmark: sequential against batched faster-whisper, WER and real-time factor, on recordings with references.

This is what `--batch-size auto` on the CPU was chosen from (`transcriber.engines.batch_size.CPU_BATCH_SIZE`).
Two sets: the recordings as they are (each short: one 30 s chunk, so batching can only change how a chunk is
decoded), and one long recording made by joining them with pauses (many chunks, so a batch fills). One
engine per batch size, loaded once; each set transcribed `--repeats` times, the fastest wall time kept. WER
is pooled over the set against `<stem>.ref.txt` (jiwer, Whisper's English normalizer). Prints numbers and
asserts nothing.

    python scripts/bench_batch.py --input examples/recordings --model tiny.en --batch-sizes 1,4,8,16
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def _load_set(folder: Path, joins: int) -> tuple[list[tuple[np.ndarray, str]], tuple[np.ndarray, str]]:
    """The recordings with references, and one recording of all of them joined `joins` times with 1.5 s pauses."""
    from transcriber.audio import SAMPLE_RATE, decode

    items = []
    for ref in sorted(folder.rglob("*.ref.txt")):
        stem = ref.name.removesuffix(".ref.txt")
        audio = next(p for p in ref.parent.iterdir() if p.stem == stem and not p.name.endswith(".txt"))
        items.append((decode(audio).samples, ref.read_text(encoding="utf-8").strip()))
    pause = np.zeros(int(1.5 * SAMPLE_RATE), dtype=np.float32)
    joined = np.concatenate([part for _ in range(joins) for samples, _ in items for part in (samples, pause)])
    return items, (joined, " ".join(text for _ in range(joins) for _, text in items))


def _measure(engine, items: list[tuple[np.ndarray, str]], repeats: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(WER, real-time factor) of `engine` over `items`; the fastest of `repeats` passes."""
    from transcriber.audio import SAMPLE_RATE
    from transcriber.bench.metrics import Counts, score

    best, counts = float("inf"), Counts()
    for _ in range(repeats):
        counts, started = Counts(), time.perf_counter()
        for samples, reference in items:
            transcript = engine.transcribe(samples, source="bench")
            counts += score(transcript.verbatim_text, "", reference, None)
        best = min(best, time.perf_counter() - started)
    audio_seconds = sum(len(s) for s, _ in items) / SAMPLE_RATE
    return counts.rates()["wer"] or 0.0, best / audio_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", type=Path, default=Path("examples/recordings"))
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--compute-type", default="auto")
    parser.add_argument("--batch-sizes", default="1,4,8,16")
    parser.add_argument("--joins", type=int, default=3, help="copies of the set in the long recording (default 3)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from transcriber.catalog import resolve_model
    from transcriber.engines.faster_whisper import FasterWhisperEngine, WhisperOptions, pick_compute_type

    name, path = resolve_model(args.model)
    compute_type = pick_compute_type(args.compute_type, args.device)
    short, long = _load_set(args.input, args.joins)
    print(f"{name} on {args.device} ({compute_type}); {len(short)} recordings, long one {len(long[0]) / 16000:.0f} s")
    print(f"{'batch':>5}  {'short WER':>9} {'short RTF':>9}  {'long WER':>8} {'long RTF':>8}")
    for size in (int(s) for s in args.batch_sizes.split(",")):
        engine = FasterWhisperEngine(path, name, args.device, compute_type, WhisperOptions(batch_size=size))
        short_wer, short_rtf = _measure(engine, short, args.repeats)
        long_wer, long_rtf = _measure(engine, [long], args.repeats)
        label = "seq" if size == 1 else str(size)
        print(f"{label:>5}  {short_wer:>9.3f} {short_rtf:>9.3f}  {long_wer:>8.3f} {long_rtf:>8.3f}", flush=True)
        engine.close()


if __name__ == "__main__":
    main()
