#!/usr/bin/env python3
"""Benchmark the cleanup stages on recordings with references: rules only against rules plus an LLM.

For each configuration it prints clean-WER (against `<stem>.clean.txt`, Whisper's English normalizer) and,
per category of filler (hesitations, repetitions, discourse markers), recall and precision of the words
removed, found by aligning the verbatim transcript with the clean reference and with the output; then
for the LLM its tokens per second, chunks, fallbacks and the process's peak RSS. ASR runs once; both
cleanups work on the same verbatim transcripts. It prints numbers and asserts nothing; it is not a test.

    python scripts/bench_cleanup.py --input examples/recordings --cleanup-model smollm2-135m-instruct
"""

from __future__ import annotations

import argparse
import copy
import re
import resource
import time
from collections import Counter
from difflib import SequenceMatcher
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transcriber.cleanup.llm import LlmCleaner
    from transcriber.transcript import Transcript

_WORD = re.compile(r"[\w']+")
#: English discourse markers, scored as their own category (the script keeps its own list, so it also
#: scores versions of the tool that had fewer).
MARKERS = (("you", "know"), ("i", "mean"), ("like",), ("sort", "of"), ("kind", "of"))
CATEGORIES = ("hesitation", "repetition", "marker")


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _unmatched(source: list[str], target: list[str]) -> set[int]:
    """Positions of `source` words that the alignment with `target` leaves out (the words removed)."""
    matched: set[int] = set()
    for block in SequenceMatcher(a=source, b=target, autojunk=False).get_matching_blocks():
        matched.update(range(block.a, block.a + block.size))
    return set(range(len(source))) - matched


def _groups(said: list[str], fillers: frozenset[str]) -> list[tuple[str, int]]:
    """Each verbatim word's (category, group): a hesitation, a marker phrase, a repetition (both copies in
    one group, since removing either copy is right) or other; scores count per group, not per position."""
    found = [("hesitation" if w in fillers else "other", i) for i, w in enumerate(said)]
    for i in range(len(said)):
        for phrase in MARKERS:
            if tuple(said[i : i + len(phrase)]) == phrase:
                found[i : i + len(phrase)] = [("marker", i)] * len(phrase)
    for i in range(len(said)):
        for n in range(4, 0, -1):
            span = found[i : i + 2 * n]
            if said[i : i + n] == said[i + n : i + 2 * n] and all(c == "other" for c, _ in span):
                found[i : i + 2 * n] = [("repetition", i)] * (2 * n)
    return found


def _category_counts(verbatim: str, clean: str, reference: str, fillers: frozenset[str], key) -> Counter[str]:  # type: ignore[no-untyped-def]
    """Per category: words to remove (`want`), removed (`done`) and removed rightly (`right`).

    Words are compared through `key` (Whisper's normalizer, word by word), so "12" matches "twelve".
    """
    said = _words(verbatim)
    keyed = [key(w) for w in said]
    want = _unmatched(keyed, [key(w) for w in _words(reference)])
    done = _unmatched(keyed, [key(w) for w in _words(clean)])
    per_group: dict[tuple[str, int], list[int]] = {}
    for i, group in enumerate(_groups(said, fillers)):
        tally = per_group.setdefault(group, [0, 0])
        tally[0] += i in want
        tally[1] += i in done
    counts: Counter[str] = Counter()
    for (category, _), (wanted, removed) in per_group.items():
        counts[f"{category}:want"] += wanted
        counts[f"{category}:done"] += removed
        counts[f"{category}:right"] += min(wanted, removed)
    return counts


def _ratio(part: int, whole: int) -> str:
    return f"{part / whole:.2f}" if whole else "-"


def _scores(counts: Counter[str], category: str) -> str:
    right = counts[f"{category}:right"]
    return f"{_ratio(right, counts[f'{category}:want'])}/{_ratio(right, counts[f'{category}:done'])}"


def _print_modes(raw: list[tuple[Transcript, str]], llm: LlmCleaner | None, show: bool) -> None:
    """One line per cleanup (none, rules, llm) over the same verbatim transcripts."""
    import jiwer
    from whisper_normalizer.english import EnglishTextNormalizer

    from transcriber.cleanup import apply_cleanup
    from transcriber.cleanup.lexicon import LEXICONS

    normalize = EnglishTextNormalizer()

    def key(word: str) -> str:
        return normalize(word) or word

    header = "".join(f" {c[:5] + ' R/P':>11}" for c in CATEGORIES)
    print(f"{'cleanup':<8} {'clean-WER':>9}{header} {'seconds':>8}")
    for mode in ("none", "rules", "llm"):
        refs: list[str] = []
        hyps: list[str] = []
        counts: Counter[str] = Counter()
        t0 = time.perf_counter()
        for transcript, reference in raw:
            done = copy.deepcopy(transcript)
            apply_cleanup(done, mode, llm if mode == "llm" else None)
            refs.append(normalize(reference))
            hyps.append(normalize(done.clean_text))
            if show:
                print(f"  {transcript.source}: {done.clean_text}")
            counts += _category_counts(done.verbatim_text, done.clean_text, reference, LEXICONS["en"].fillers, key)
        elapsed = time.perf_counter() - t0
        scores = "".join(f" {_scores(counts, c):>11}" for c in CATEGORIES)
        print(f"{mode:<8} {jiwer.wer(refs, hyps):>9.3f}{scores} {elapsed:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--model", default="tiny.en", help="ASR model")
    parser.add_argument("--cleanup-model", default="smollm2-135m-instruct")
    parser.add_argument("--cleanup-mode", default="delete", choices=["delete", "rewrite"])
    parser.add_argument("--show", action="store_true", help="print each recording's clean text for each cleanup")
    args = parser.parse_args()

    from transcriber.audio import decode
    from transcriber.cleanup.llm import LlmCleaner, LlmOptions
    from transcriber.discovery import discover
    from transcriber.engines.faster_whisper import FasterWhisperEngine, WhisperOptions
    from transcriber.models import resolve_model

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
    _print_modes(raw, llm, args.show)
    print("R/P: recall (share of the words the clean reference drops that were removed) / precision (share")
    print("of the removed words that the clean reference drops too), per category of the verbatim word")
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
