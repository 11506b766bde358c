"""What a transcript page shows, as plain data: turns, each segment's clean and verbatim words with times,
the cleanup's removals, the speakers and the review flags. The page's script draws it (`page.html`).

Only the `Transcript` is read, so a page can be made again from a transcript's JSON without the models.
Clean and verbatim tokens are tied to the recognised words (and so to their times) by aligning their
letters; a token cleanup rewrote takes the time of the next word that lines up.
"""

from __future__ import annotations

import difflib
import itertools
import re
from pathlib import Path
from typing import Any

from transcriber.flags import LOW_PROBABILITY, review_flags
from transcriber.transcript import Edit, Segment, Transcript, Word

#: A pause of this many seconds starts a new turn even when the speaker stays the same.
TURN_GAP = 2.0
_TOKEN = re.compile(r"\S+")
#: A word in the page's data: [start, end, text, low] (clean) or [start, end, [[text, removed], ...], low].
Token = list[Any]


def _seconds(value: float) -> float:
    return round(float(value), 2)


def _normal(token: str) -> str:
    return "".join(ch for ch in token.lower() if ch.isalnum())


def _owners(tokens: list[str], words: list[Word]) -> list[int | None]:
    """For each token, the index of the recognised word it lines up with; a token with no match takes the next
    matched word's (the last one's at the end); all None when nothing lines up."""
    matcher = difflib.SequenceMatcher(None, [_normal(t) for t in tokens], [_normal(w.text) for w in words], False)
    found: list[int | None] = [None] * len(tokens)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            found[block.a + k] = block.b + k
    matched = [i for i in found if i is not None]
    following = matched[-1] if matched else None
    for k in reversed(range(len(found))):
        following = found[k] = found[k] if found[k] is not None else following
    return found


def _timed(tokens: list[str], segment: Segment) -> list[tuple[float, float, bool]]:
    """(start, end, low probability) per token: its word's, or an even share of the segment without words."""
    owners = _owners(tokens, segment.words) if segment.words else [None] * len(tokens)
    span = (segment.end - segment.start) / max(len(tokens), 1)
    times = []
    for k, owner in enumerate(owners):
        if owner is None:
            times.append((segment.start + k * span, segment.start + (k + 1) * span, False))
        else:
            word = segment.words[owner]
            times.append((word.start, word.end, word.probability < LOW_PROBABILITY))
    return times


def _pieces(text: str, at: int, removed: list[Edit]) -> list[list[Any]]:
    """`text` (at offset `at` of the verbatim text) cut where removals begin and end: [[piece, removed], ...]."""
    cuts = {0, len(text)}
    for edit in removed:
        cuts |= {min(max(edit.start - at, 0), len(text)), min(max(edit.end - at, 0), len(text))}
    bounds = sorted(cuts)
    pieces: list[list[Any]] = []
    for a, b in itertools.pairwise(bounds):
        gone = any(e.start < at + b and e.end > at + a for e in removed)
        if pieces and pieces[-1][1] == int(gone):
            pieces[-1][0] += text[a:b]
        else:
            pieces.append([text[a:b], int(gone)])
    return pieces


def _verbatim(segment: Segment, at: int, edits: list[Edit]) -> list[Token]:
    text = segment.text.strip()
    matches = list(_TOKEN.finditer(text))
    times = _timed([m.group() for m in matches], segment)
    near = [e for e in edits if e.start < at + len(text) and e.end > at]
    return [
        [_seconds(s), _seconds(e), _pieces(m.group(), at + m.start(), near), int(low)]
        for m, (s, e, low) in zip(matches, times, strict=True)
    ]


def _clean(segment: Segment) -> list[Token]:
    tokens = segment.clean_text.split()
    return [
        [_seconds(s), _seconds(e), t, int(low)] for t, (s, e, low) in zip(tokens, _timed(tokens, segment), strict=True)
    ]


def _turns(segments: list[Segment]) -> list[dict[str, Any]]:
    turns: list[dict[str, Any]] = []
    last: Segment | None = None
    for index, seg in enumerate(segments):
        if last is None or seg.speaker != last.speaker or seg.start - last.end >= TURN_GAP:
            turns.append({"speaker": seg.speaker, "start": _seconds(seg.start), "segments": []})
        turns[-1]["segments"].append(index)
        last = seg
    return turns


def page_data(transcript: Transcript) -> dict[str, Any]:
    """Everything the page draws, as JSON-ready data (flags recomputed when the transcript carries none)."""
    segments, at = [], 0
    for seg in transcript.segments:
        segments.append({
            "id": seg.id, "start": _seconds(seg.start), "end": _seconds(seg.end),
            "clean": _clean(seg), "verbatim": _verbatim(seg, at, transcript.edits),
        })  # fmt: skip
        if seg.text.strip():
            at += len(seg.text.strip()) + 1
    flags = transcript.flags or review_flags(transcript)
    index = {seg.id: k for k, seg in enumerate(transcript.segments)}
    return {
        "title": Path(transcript.source).stem or transcript.source,
        "source": transcript.source,
        "duration": _seconds(transcript.duration),
        "language": transcript.language,
        "model": transcript.model,
        "engine": transcript.engine,
        "cleanup": transcript.cleanup,
        "speakers": [{"id": s.id, "name": s.name} for s in transcript.speakers],
        "turns": _turns(transcript.segments),
        "segments": segments,
        "flags": [
            {**f.__dict__, "start": _seconds(f.start), "end": _seconds(f.end), "segment": index.get(f.segment, 0)}
            for f in flags
        ],
    }
