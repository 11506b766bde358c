"""Hallucination guards applied to recognised text, whatever the engine.

Whisper-family models can fall into a loop ("thank you thank you thank you ...") on noise or music;
a phrase repeated more than `max_repeats` times in a row is collapsed to one copy.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"\S+")


def collapse_loops(text: str, max_repeats: int = 3, max_phrase: int = 8) -> str:
    """Collapse any phrase of up to `max_phrase` words repeated more than `max_repeats` times in a row."""
    words = _WORD.findall(text)
    norm = [re.sub(r"[^\w']", "", w.lower()) for w in words]
    out: list[str] = []
    i = 0
    while i < len(words):
        for n in range(1, max_phrase + 1):
            count = 1
            while norm[i : i + n] == norm[i + count * n : i + (count + 1) * n] and i + (count + 1) * n <= len(words):
                count += 1
            if count > max_repeats and any(norm[i : i + n]):
                out.extend(words[i + (count - 1) * n : i + count * n])
                i += count * n
                break
        else:
            out.append(words[i])
            i += 1
    return " ".join(out)
