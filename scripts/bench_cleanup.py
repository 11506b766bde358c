#!/usr/bin/env python3
"""Benchmark the cleanup stages on recordings with references: rules only against rules plus an LLM.

For each configuration it prints clean-WER (against `<stem>.clean.txt`), filler recall and removal
precision (where a verbatim `<stem>.ref.txt` lies beside it too), all scored by `transcriber.bench.metrics`
as `transcriber bench` scores them, then for the LLM its tokens per second,
chunks, fallbacks and the process's peak RSS. ASR runs once; both cleanups work on the same verbatim
transcripts. It prints numbers and asserts nothing; it is not a test.

    python scripts/bench_cleanup.py --input examples/recordings --cleanup-model smollm2-135m-instruct
"""

from __future__ import annotations

import argparse
import copy
import resource
import time
from pathlib import Path

from transcriber.settings import CLEANUP_MODES


def _shown(value: float | None, width: int) -> str:
    return f"{value:>{width}.3f}" if value is not None else f"{'-':>{width}}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--model", default="tiny.en", help="ASR model")
    parser.add_argument("--cleanup-model", default="smollm2-135m-instruct")
    parser.add_argument("--cleanup-mode", default="delete", choices=CLEANUP_MODES)
    args = parser.parse_args()

    from transcriber.audio import decode
    from transcriber.bench.metrics import Counts, score
    from transcriber.cleanup import apply_cleanup
    from transcriber.cleanup.llm import LlmCleaner, LlmOptions
    from transcriber.discovery import discover
    from transcriber.engines.faster_whisper import FasterWhisperEngine, WhisperOptions
    from transcriber.models import resolve_model

    name, path = resolve_model(args.model)
    engine = FasterWhisperEngine(path, name, "cpu", "int8", WhisperOptions())
    raw = []
    for rec in discover(args.input, Path("/nonexistent")):
        ref, verbatim_ref = (args.input / rec.relative).with_suffix(".clean.txt"), rec.path.with_suffix(".ref.txt")
        if ref.is_file():
            transcript = engine.transcribe(decode(rec.path).samples, rec.relative.as_posix())
            raw.append((transcript, ref.read_text(), verbatim_ref.read_text() if verbatim_ref.is_file() else None))
    engine.close()

    started = time.perf_counter()
    llm = LlmCleaner(LlmOptions(args.cleanup_model, args.cleanup_mode))
    load = time.perf_counter() - started
    print(f"{len(raw)} recordings with clean references; ASR {args.model}; LLM {args.cleanup_model} "
          f"({llm.quant}, {llm.device}, loaded in {load:.1f} s)")  # fmt: skip
    print(f"{'cleanup':<12} {'clean-WER':>9} {'filler recall':>13} {'removal precision':>17} {'seconds':>8}")
    for mode in ("none", "rules", "llm"):
        counts, t0 = Counts(), time.perf_counter()
        for transcript, reference, verbatim_reference in raw:
            done = copy.deepcopy(transcript)
            apply_cleanup(done, mode, llm if mode == "llm" else None)
            counts += score(done.verbatim_text, done.clean_text, verbatim_reference, reference)
        elapsed = time.perf_counter() - t0
        print(f"{mode:<12} {_shown(counts.clean_wer, 9)} {_shown(counts.filler_recall, 13)} "
              f"{_shown(counts.filler_precision, 17)} {elapsed:>8.2f}")  # fmt: skip
    stats = llm.stats
    print(f"llm: {stats.chunks} chunks, {stats.fallbacks} fallbacks ({'; '.join(stats.reasons) or 'none'}), "
          f"{stats.new_tokens} tokens at {stats.tokens_per_second:.1f} tokens/s")  # fmt: skip
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    try:
        import torch

        if torch.cuda.is_available():
            print(f"peak VRAM {torch.cuda.max_memory_allocated() / 2**30:.2f} GB")
    except ImportError:
        pass


if __name__ == "__main__":
    main()
