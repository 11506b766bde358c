#!/usr/bin/env python3
"""Benchmark the cleanup stages on recordings with references: rules only against rules plus an LLM.

For each configuration it prints clean-WER (against `<stem>.clean.txt`, Whisper's English normalizer),
filler recall (share of the verbatim transcript's hesitation fillers removed) and filler precision
(share of removed words that the clean reference also lacks), then for the LLM its tokens per second,
chunks, fallbacks and the process's peak RSS. ASR runs once; both cleanups work on the same verbatim
transcripts. It prints numbers and asserts nothing; it is not a test.

    python scripts/bench_cleanup.py --input examples/recordings --cleanup-model smollm2-135m-instruct
"""

from __future__ import annotations

import argparse
import copy
import re
import resource
import time
from collections import Counter
from pathlib import Path

_WORD = re.compile(r"[\w']+")


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _filler_scores(verbatim: str, clean: str, reference: str, fillers: frozenset[str]) -> tuple[int, int, int, int]:
    """(fillers said, fillers removed, words removed, removed words also absent from the reference)."""
    said, kept, ref = Counter(_words(verbatim)), Counter(_words(clean)), Counter(_words(reference))
    removed = said - kept
    filler_said = sum(n for w, n in said.items() if w in fillers)
    filler_removed = sum(n for w, n in removed.items() if w in fillers)
    correct = sum(min(n, max(said[w] - ref[w], 0)) for w, n in removed.items())
    return filler_said, filler_removed, sum(removed.values()), correct


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--model", default="tiny.en", help="ASR model")
    parser.add_argument("--cleanup-model", default="smollm2-135m-instruct")
    parser.add_argument("--cleanup-mode", default="delete", choices=["delete", "rewrite"])
    args = parser.parse_args()

    import jiwer
    from whisper_normalizer.english import EnglishTextNormalizer

    from transcriber.audio import decode
    from transcriber.cleanup import apply_cleanup
    from transcriber.cleanup.lexicon import ENGLISH
    from transcriber.cleanup.llm import LlmCleaner, LlmOptions
    from transcriber.discovery import discover
    from transcriber.engines.faster_whisper import FasterWhisperEngine, WhisperOptions
    from transcriber.models import resolve_model

    normalize = EnglishTextNormalizer()
    name, path = resolve_model(args.model)
    engine = FasterWhisperEngine(path, name, "cpu", "int8", WhisperOptions())
    raw = []
    for rec in discover(args.input, Path("/nonexistent")):
        ref = (args.input / rec.relative).with_suffix(".clean.txt")
        if ref.is_file():
            raw.append((engine.transcribe(decode(rec.path).samples, rec.relative.as_posix()), ref.read_text()))
    engine.close()

    started = time.perf_counter()
    llm = LlmCleaner(LlmOptions(args.cleanup_model, args.cleanup_mode))
    load = time.perf_counter() - started
    print(f"{len(raw)} recordings with clean references; ASR {args.model}; LLM {args.cleanup_model} "
          f"({llm.quant}, {llm.device}, loaded in {load:.1f} s)")  # fmt: skip
    print(f"{'cleanup':<12} {'clean-WER':>9} {'filler recall':>13} {'removal precision':>17} {'seconds':>8}")
    for mode in ("none", "rules", "llm"):
        refs, hyps, totals = [], [], [0, 0, 0, 0]
        t0 = time.perf_counter()
        for transcript, reference in raw:
            done = copy.deepcopy(transcript)
            apply_cleanup(done, mode, llm if mode == "llm" else None)
            refs.append(normalize(reference))
            hyps.append(normalize(done.clean_text))
            scores = _filler_scores(done.verbatim_text, done.clean_text, reference, ENGLISH.fillers)
            totals = [a + b for a, b in zip(totals, scores, strict=True)]
        elapsed = time.perf_counter() - t0
        recall = totals[1] / totals[0] if totals[0] else 0.0
        precision = totals[3] / totals[2] if totals[2] else 1.0
        print(f"{mode:<12} {jiwer.wer(refs, hyps):>9.3f} {recall:>13.2f} {precision:>17.2f} {elapsed:>8.2f}")
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
