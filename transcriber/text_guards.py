"""Hallucination guards applied to recognised text, whatever the engine.

Whisper-family models can fall into a loop ("thank you thank you thank you ...") on noise or music;
a phrase repeated more than `max_repeats` times in a row is collapsed to one copy, and the rest of the
text keeps its own spacing and line breaks (a new line is an answer's layout, not a loop). Chat models
also wrap a transcript in talk ("The speech says: '...'", "If you have any more questions..."), which
`strip_chatter` takes off.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"\S+")
_PREAMBLE = re.compile(
    r"^\s*(?:(?:sure|certainly|okay)[,!.]?\s*)?(?:here is|here's|this is)?\s*(?:the\s+)?"
    r"(?:speech|audio|recording|speaker|transcript(?:ion)?|original content)\b[^:\n\"'“\u2018]{0,40}?"
    r"(?::\s*|\s*(?=[\"'“\u2018]))",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"^[\"'“\u2018](.*)[\"'”\u2019]\.?$", re.DOTALL)
_CLOSING_TALK = re.compile(
    r"\s*(?:if you have any (?:more|other|further) questions|let me know if|i hope this helps|feel free to ask)"
    r"[^\n]*$",
    re.IGNORECASE,
)


def _loops(norm: list[str], max_repeats: int, max_phrase: int) -> list[tuple[int, int, int]]:
    """(start, phrase length, copies) of each run of a phrase said more than `max_repeats` times."""
    found, i = [], 0
    while i < len(norm):
        for n in range(1, max_phrase + 1):
            count = 1
            while norm[i : i + n] == norm[i + count * n : i + (count + 1) * n] and i + (count + 1) * n <= len(norm):
                count += 1
            if count > max_repeats and any(norm[i : i + n]):
                found.append((i, n, count))
                i += count * n
                break
        else:
            i += 1
    return found


def _scan(text: str, max_repeats: int, max_phrase: int) -> tuple[list[re.Match[str]], list[tuple[int, int, int]]]:
    words = list(_WORD.finditer(text))
    norm = [re.sub(r"[^\w']", "", w.group().lower()) for w in words]
    return words, _loops(norm, max_repeats, max_phrase)


def has_loop(text: str, max_repeats: int = 3, max_phrase: int = 8) -> bool:
    """Whether some phrase of up to `max_phrase` words repeats more than `max_repeats` times in a row."""
    return bool(_scan(text, max_repeats, max_phrase)[1])


def collapse_loops(text: str, max_repeats: int = 3, max_phrase: int = 8) -> str:
    """Collapse each phrase repeated more than `max_repeats` times in a row to its last copy."""
    words, loops = _scan(text, max_repeats, max_phrase)
    out, cursor = [], 0
    for start, n, count in loops:
        out.append(text[cursor : words[start].start()])
        cursor = words[start + (count - 1) * n].start()
    out.append(text[cursor:])
    return "".join(out)


def strip_chatter(answer: str) -> str:
    """The transcript inside a chat model's answer: without "The speech says: '...'" and closing offers."""
    text = _CLOSING_TALK.sub("", answer).strip()
    stripped = _PREAMBLE.sub("", text, count=1).strip()
    if stripped != text and (quoted := _QUOTED.match(stripped)):
        stripped = quoted.group(1).strip()
    return stripped or text
