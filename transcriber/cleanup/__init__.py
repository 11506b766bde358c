"""Cleanup stages that turn a verbatim transcript into a clean one without inventing words.

`rules` always runs first (it is the whole cleanup with --cleanup rules); `llm` then cleans chunks of
whole sentences of the rules output, each answer checked by the guard, falling back to the rules output
of that chunk when it fails. Each segment keeps the clean words that came from it, so subtitles stay
timed, and every removal is recorded as an edit against the verbatim text.
"""

from __future__ import annotations

from difflib import SequenceMatcher
from typing import TYPE_CHECKING

from transcriber.cleanup.chunks import chunk_words
from transcriber.cleanup.constrain import core_word
from transcriber.cleanup.edit_guard import Verdict, check
from transcriber.cleanup.rules import KeptWord, clean_texts
from transcriber.transcript import Edit, Transcript

if TYPE_CHECKING:
    from transcriber.cleanup.llm import LlmCleaner


def align(source: list[KeptWord], answer: str) -> tuple[list[tuple[int, str]], list[KeptWord]]:
    """Give each answer word the segment of the source word it matches; return them and the dropped words.

    In deletion-only mode the answer is a subsequence of the source, so every word matches; in rewrite
    mode an unmatched word joins the segment of the word before it.
    """
    out = answer.split()
    left = [core_word(w.text).lower() for w in source]
    right = [core_word(t).lower() for t in out]
    owners: list[int | None] = [None] * len(out)
    matched: set[int] = set()
    for block in SequenceMatcher(a=left, b=right, autojunk=False).get_matching_blocks():
        for k in range(block.size):
            owners[block.b + k] = source[block.a + k].piece
            matched.add(block.a + k)
    previous = source[0].piece if source else 0
    placed = []
    for owner, token in zip(owners, out, strict=True):
        previous = owner if owner is not None else previous
        placed.append((previous, token))
    return placed, [w for i, w in enumerate(source) if i not in matched]


def _llm_pass(words: list[KeptWord], verbatim: str, llm: LlmCleaner) -> tuple[list[tuple[int, str]], list[Edit]]:
    placed: list[tuple[int, str]] = []
    edits: list[Edit] = []
    for span in chunk_words([w.text for w in words]):
        chunk = [words[i] for i in span]
        text = " ".join(w.text for w in chunk)
        try:
            verdict = check(text, llm.generate(text), llm.options.mode)
        except Exception as exc:  # one chunk's failure (out of memory, a tokenizer error) must not lose it
            verdict = Verdict(False, "", f"LLM error: {type(exc).__name__}: {exc}")
        llm.stats.chunks += 1
        if verdict.ok:
            kept, dropped = align(chunk, verdict.text)
            placed += kept
            edits += [Edit(w.start, w.end, verbatim[w.start : w.end], "llm") for w in dropped]
        else:
            llm.stats.reasons.append(verdict.reason)
            placed += [(w.piece, w.text) for w in chunk]
    return placed, edits


def apply_cleanup(transcript: Transcript, mode: str, llm: LlmCleaner | None = None) -> None:
    """Fill each segment's `clean_text` and the transcript's edits for mode none, rules or llm."""
    transcript.cleanup = mode
    transcript.cleanup_stats = {}
    if mode == "none":
        for segment in transcript.segments:
            segment.clean_text = segment.text.strip()
        transcript.edits = []
        return
    result = clean_texts([s.text for s in transcript.segments], transcript.language)
    transcript.edits = result.edits
    if mode == "rules" or llm is None:
        for segment, text in zip(transcript.segments, result.texts, strict=True):
            segment.clean_text = text
        return
    chunks_before, fallbacks_before = llm.stats.chunks, llm.stats.fallbacks
    placed, llm_edits = _llm_pass(result.words, transcript.verbatim_text, llm)
    pieces: list[list[str]] = [[] for _ in transcript.segments]
    for piece, token in placed:
        pieces[piece].append(token)
    for segment, tokens in zip(transcript.segments, pieces, strict=True):
        segment.clean_text = " ".join(tokens)
    transcript.edits = sorted(result.edits + llm_edits, key=lambda e: e.start)
    transcript.cleanup_stats = {
        "model": llm.options.model,
        "mode": llm.options.mode,
        "quant": llm.quant,
        "chunks": llm.stats.chunks - chunks_before,
        "fallbacks": llm.stats.fallbacks - fallbacks_before,
        "fallback_reasons": llm.stats.reasons[fallbacks_before:],
    }
