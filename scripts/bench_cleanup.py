#!/usr/bin/env python3
"""Benchmark the cleanup stages on recordings with references: none, rules only, and rules plus an LLM.

For each cleanup it prints clean-WER (against `<stem>.clean.txt`) and, per category of disfluency
(hesitations, repetitions, discourse markers, other), recall and precision of the words removed, scored by
`transcriber.bench.metrics` as `transcriber bench` scores them (it needs `<stem>.ref.txt` too); then for
the LLM its tokens per second, chunks, fallbacks and the process's peak RSS. ASR runs once; every cleanup
works on the same verbatim transcripts. It prints numbers and asserts nothing; it is not a test.

    python scripts/bench_cleanup.py --input examples/recordings --cleanup-model smollm2-135m-instruct
"""

from __future__ import annotations

import argparse
import copy
import resource
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transcriber.cleanup.llm import LlmCleaner
    from transcriber.transcript import Transcript


def _pair(rates: dict[str, float | None], category: str) -> str:
    """Recall/precision of one category, "-" where there was nothing to count."""
    pair = (rates[f"{category}_recall"], rates[f"{category}_precision"])
    return "/".join("-" if v is None else f"{v:.2f}" for v in pair)


def _print_modes(raw: list[tuple[Transcript, str, str]], llm: LlmCleaner | None, show: bool) -> None:
    """One line per cleanup (none, rules, llm) over the same verbatim transcripts, scored as `bench` does."""
    from transcriber.bench.metrics import CATEGORIES, Counts, score
    from transcriber.cleanup import apply_cleanup

    header = "".join(f" {c[:5] + ' R/P':>11}" for c in CATEGORIES)
    print(f"{'cleanup':<8} {'clean-WER':>9}{header} {'seconds':>8}")
    for mode in ("none", "rules", "llm"):
        counts = Counts()
        t0 = time.perf_counter()
        for transcript, reference, clean_reference in raw:
            done = copy.deepcopy(transcript)
            apply_cleanup(done, mode, llm if mode == "llm" else None)
            if show:
                print(f"  {transcript.source}: {done.clean_text}")
            counts += score(done.verbatim_text, done.clean_text, reference, clean_reference, done.language)
        elapsed = time.perf_counter() - t0
        rates = counts.rates()
        scores = "".join(f" {_pair(rates, c):>11}" for c in CATEGORIES)
        print(f"{mode:<8} {rates['clean_wer'] or 0:>9.3f}{scores} {elapsed:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--model", default="tiny.en", help="ASR model")
    parser.add_argument("--cleanup-model", default="smollm2-135m-instruct")
    parser.add_argument("--cleanup-mode", default="delete", choices=["delete", "rewrite"])
    parser.add_argument("--show", action="store_true", help="print each recording's clean text for each cleanup")
    args = parser.parse_args()

    from transcriber.audio import decode
    from transcriber.catalog import resolve_model
    from transcriber.cleanup.llm import LlmCleaner, LlmOptions
    from transcriber.discovery import discover
    from transcriber.engines.faster_whisper import FasterWhisperEngine, WhisperOptions

    name, path = resolve_model(args.model)
    engine = FasterWhisperEngine(path, name, "cpu", "int8", WhisperOptions())
    raw = []
    for rec in discover(args.input, Path("/nonexistent")):
        ref, clean = ((args.input / rec.relative).with_suffix(f".{kind}.txt") for kind in ("ref", "clean"))
        if ref.is_file() and clean.is_file():
            transcript = engine.transcribe(decode(rec.path).samples, rec.relative.as_posix())
            raw.append((transcript, ref.read_text(encoding="utf-8"), clean.read_text(encoding="utf-8")))
    engine.close()

    started = time.perf_counter()
    llm = LlmCleaner(LlmOptions(args.cleanup_model, args.cleanup_mode))
    load = time.perf_counter() - started
    print(f"{len(raw)} recordings with both references; ASR {args.model}; LLM {args.cleanup_model} "
          f"({llm.quant}, {llm.device}, loaded in {load:.1f} s)")  # fmt: skip
    _print_modes(raw, llm, args.show)
    print("R/P: recall / precision of disfluency removal per category, as `transcriber bench` scores it")
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
