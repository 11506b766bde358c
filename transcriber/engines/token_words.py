"""Words with times from a decoder's tokens and their encoder frames, and sentences cut from those words.

Transducers (TDT) and CTC know the encoder frame each token came from; a SentencePiece token that starts
with "▁" begins a word, and the word runs from its first token's frame to its last token's end. A word's
text carries its leading space, as faster-whisper's words do, so joining a run of words gives its text
(which is how diarization splits a segment at a speaker change).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from transcriber.transcript import Segment, Word

_WORD_START = "▁"
_SENTENCE_END = (".", "?", "!", "\u3002", "\uff1f", "\uff01")  # and the CJK full stop, question, exclamation
#: A pause this long between two words ends a segment, as does a segment reaching `_MAX_SEGMENT_SECONDS`:
#: subtitles stay readable and diarization gets places to split even in text without punctuation.
_PAUSE_SECONDS = 0.8
_MAX_SEGMENT_SECONDS = 15.0


@dataclass(frozen=True)
class TokenSpan:
    """One emitted token and the encoder frames it covers, [start, end)."""

    token_id: int
    start: int
    end: int


def tdt_spans(ids: Sequence[int], durations: Sequence[int], skip: set[int]) -> list[TokenSpan]:
    """TDT output as spans: each step starts where the durations before it end and lasts its own duration."""
    spans, frame = [], 0
    for token_id, duration in zip(ids, durations, strict=True):
        if token_id not in skip:
            spans.append(TokenSpan(token_id, frame, frame + duration))
        frame += duration
    return spans


def ctc_spans(frame_ids: Sequence[int], blank: int) -> list[TokenSpan]:
    """CTC's per-frame best tokens as spans: a run of one token is one emission, blanks separate repeats."""
    spans: list[TokenSpan] = []
    previous = blank
    for frame, token_id in enumerate(frame_ids):
        if token_id != blank and token_id == previous:
            last = spans[-1]
            spans[-1] = TokenSpan(last.token_id, last.start, frame + 1)
        elif token_id != blank:
            spans.append(TokenSpan(token_id, frame, frame + 1))
        previous = token_id
    return spans


def words_from_spans(tokenizer: Any, spans: Sequence[TokenSpan], frame_seconds: float, offset: float) -> list[Word]:
    """Words from token spans, in seconds from the recording's start (`offset`: the window's start)."""
    special = set(tokenizer.all_special_ids)
    spans = [s for s in spans if s.token_id not in special]
    pieces = tokenizer.convert_ids_to_tokens([s.token_id for s in spans])
    groups: list[list[tuple[TokenSpan, str]]] = []
    for span, piece in zip(spans, pieces, strict=True):
        if not groups or str(piece).startswith(_WORD_START):
            groups.append([(span, piece)])
        else:
            groups[-1].append((span, piece))
    words = []
    for pairs in groups:
        # The pieces as they are (decode() would merge repeats, as Parakeet's tokenizer does for CTC frames).
        text = tokenizer.convert_tokens_to_string([piece for _, piece in pairs]).strip()
        group = [span for span, _ in pairs]
        if text:
            start = offset + group[0].start * frame_seconds
            end = offset + max(group[-1].end, group[0].start + 1) * frame_seconds
            words.append(Word(start=round(start, 3), end=round(end, 3), text=f" {text}"))
    return words


def sentences(words: Iterable[Word]) -> list[Segment]:
    """Words cut into segments at sentence ends, pauses and a length limit (ids are numbered by the caller)."""
    runs: list[list[Word]] = []
    for word in words:
        run = runs[-1] if runs else None
        if run is None or _ends(run, word):
            runs.append([word])
        else:
            run.append(word)
    return [Segment(0, r[0].start, r[-1].end, "".join(w.text for w in r).strip(), words=r) for r in runs]


def _ends(run: list[Word], following: Word) -> bool:
    last = run[-1]
    return (
        last.text.rstrip().endswith(_SENTENCE_END)
        or following.start - last.end >= _PAUSE_SECONDS
        or following.end - run[0].start > _MAX_SEGMENT_SECONDS
    )
