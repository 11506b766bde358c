"""The guard every LLM answer passes before it may replace the rules output of its chunk.

It strips think blocks and wrappers, then rejects an answer that lost too many content words, dropped a
whole sentence or the chunk's end (a summary or a truncation), changed length too much, brought in
content words the speaker never said (the sign of an answer, a summary or an obeyed command), or loops.
A rejected chunk keeps its rules output, and the reason is counted.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from transcriber.cleanup.lexicon import ALL_FILLERS
from transcriber.text_guards import has_loop

_THINK = re.compile(r"<think>.*?(</think>|$)", re.DOTALL | re.IGNORECASE)
_TAGS = re.compile(r"</?transcript>", re.IGNORECASE)
_PREAMBLE = re.compile(r"^(here is|here's|sure|certainly|cleaned transcript)[^:\n]*:\s*", re.IGNORECASE)
_WORD = re.compile(r"[\w']+")
_SENTENCES = re.compile(r"(?<=[.?!])\s+")
#: Words that carry little content; losing or adding one of them is not a change of meaning.
FUNCTION_WORDS = (
    frozenset(
        "a an the and or but so if then that this these those it its it's is are was were be been am i me my we "
        "us our you your he him his she her they them their to of in on at for with by from as not do does did "
        "have has had just really very well okay ok oh yes yeah no like actually basically right".split()
    )
    | ALL_FILLERS
    | {"know", "mean"}
)

#: A false start ("we should, we need to") costs a content word or two; more than this share is a rewrite.
MAX_CONTENT_LOSS = 0.15
MIN_CONTENT_LOSS_ALLOWED = 2
MIN_LENGTH_RATIO = 0.5
MAX_LENGTH_RATIO = {"delete": 1.0, "rewrite": 1.3}


@dataclass(frozen=True)
class Verdict:
    ok: bool
    text: str
    reason: str = ""


def strip_wrappers(answer: str) -> str:
    text = _THINK.sub("", answer)
    text = _TAGS.sub("", text).strip()
    text = _PREAMBLE.sub("", text).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return " ".join(text.split())


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _content(items: list[str]) -> Counter[str]:
    return Counter(w for w in items if w not in FUNCTION_WORDS)


def check(source: str, answer: str, mode: str = "delete") -> Verdict:
    """Accept or reject `answer` as the cleaned form of `source` (both one chunk)."""
    text = strip_wrappers(answer)
    before, after = words(source), words(text)
    if not before:
        return Verdict(True, text)
    if not after:
        return Verdict(False, text, "empty answer")
    if has_loop(text):
        return Verdict(False, text, "repetition loop")
    ratio = len(after) / len(before)
    if ratio < MIN_LENGTH_RATIO or ratio > MAX_LENGTH_RATIO[mode]:
        return Verdict(False, text, f"length ratio {ratio:.2f} out of bounds")
    added = _content(after) - _content(before)
    if added:
        return Verdict(False, text, f"new words: {', '.join(sorted(added))}")
    lost = _content(before) - _content(after)
    total = sum(_content(before).values())
    if sum(lost.values()) > max(MIN_CONTENT_LOSS_ALLOWED, MAX_CONTENT_LOSS * total):
        return Verdict(False, text, f"lost words: {', '.join(sorted(lost))}")
    kept = set(after)
    for sentence in _SENTENCES.split(source):
        content = [w for w in words(sentence) if w not in FUNCTION_WORDS]
        if content and not kept & set(content):
            return Verdict(False, text, f"dropped a sentence: {sentence.strip()}")
    last = next((w for w in reversed(before) if w not in FUNCTION_WORDS), None)
    if last is not None and last not in after[-3:]:
        return Verdict(False, text, f"truncated: the chunk ends with {last!r}")
    return Verdict(True, text)
