"""Cutting a transcript's words into chunks of whole sentences for the LLM.

Short chunks keep a small model on task and bound the damage of one bad answer to one chunk, which then
falls back to the rules output. A sentence longer than the limit is cut at commas, then at the limit.
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"[.?!…][\"')\]]*$")
_CLAUSE_END = re.compile(r"[,;:][\"')\]]*$")


def _sentences(words: list[str]) -> list[list[int]]:
    sentences, current = [], []
    for index, word in enumerate(words):
        current.append(index)
        if _SENTENCE_END.search(word):
            sentences.append(current)
            current = []
    return [*sentences, current] if current else sentences


def _split_long(sentence: list[int], words: list[str], limit: int) -> list[list[int]]:
    pieces, current = [], []
    for index in sentence:
        current.append(index)
        at_clause = bool(_CLAUSE_END.search(words[index]))
        if len(current) >= limit or (at_clause and len(current) >= limit // 2):
            pieces.append(current)
            current = []
    return [*pieces, current] if current else pieces


def chunk_words(words: list[str], max_words: int = 60) -> list[range]:
    """Consecutive index ranges over `words`, each of whole sentences and at most `max_words` long."""
    chunks: list[list[int]] = []
    for sentence in _sentences(words):
        parts = _split_long(sentence, words, max_words) if len(sentence) > max_words else [sentence]
        for part in parts:
            if chunks and len(chunks[-1]) + len(part) <= max_words:
                chunks[-1].extend(part)
            else:
                chunks.append(list(part))
    return [range(c[0], c[-1] + 1) for c in chunks]
