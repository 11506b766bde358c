"""Speakers onto a transcript: each word takes the speaker it overlaps most, segments split at changes.

Speaker ids are numbered in order of first appearance in the transcript ("S1" speaks first), whatever
labels the diarizer used, and the speakers table lists only speakers who said a recognised word, so
"Speaker 2" is always the second voice a reader meets and `--speaker-names` renames in that order. Where
the labels are already ids (the diarize stage's "S<n>", in order of first turn, which `registry` then maps
to the batch's, the same voice one id across a folder), they are kept.
A word that a second speaker's turn covers for at least `OVERLAP_SHARE` of its length is marked
`overlap`: it was said while someone else talked, so its speaker is the likelier one, not a certainty.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np

from transcriber.diarize import Turn
from transcriber.transcript import Segment, Speaker, Transcript

OVERLAP_SHARE = 0.3
BATCH_ID = re.compile(r"S\d+")


def overlaps(turns: Sequence[Turn], start: float, end: float) -> list[tuple[str, float]]:
    """(speaker, seconds of [start, end] their turns cover), most first; only speakers who cover some of it."""
    covered: dict[str, float] = {}
    for turn in turns:
        shared = min(turn.end, end) - max(turn.start, start)
        if shared > 0:
            covered[turn.speaker] = covered.get(turn.speaker, 0.0) + shared
    return sorted(covered.items(), key=lambda item: -item[1])


def speaker_at(turns: Sequence[Turn], start: float, end: float) -> str:
    """The speaker whose turns overlap [start, end] most; with no overlap, the nearest turn's speaker."""
    if covered := overlaps(turns, start, end):
        return covered[0][0]
    middle = (start + end) / 2
    return min(turns, key=lambda t: min(abs(t.start - middle), abs(t.end - middle))).speaker


def _split(segment: Segment, turns: Sequence[Turn]) -> list[Segment]:
    """`segment` as one segment per run of words with the same speaker."""
    if not segment.words:
        segment.speaker = speaker_at(turns, segment.start, segment.end)
        return [segment]
    for word in segment.words:
        covered = overlaps(turns, word.start, word.end)
        word.speaker = covered[0][0] if covered else speaker_at(turns, word.start, word.end)
        word.overlap = bool(len(covered) > 1 and covered[1][1] >= OVERLAP_SHARE * max(word.end - word.start, 1e-3))
    runs: list[list] = []
    for word in segment.words:
        if runs and runs[-1][-1].speaker == word.speaker:
            runs[-1].append(word)
        else:
            runs.append([word])
    if len(runs) == 1:
        segment.speaker = runs[0][0].speaker
        return [segment]
    parts = []
    for n, run in enumerate(runs):
        start = segment.start if n == 0 else run[0].start
        end = segment.end if n == len(runs) - 1 else run[-1].end
        text = "".join(w.text for w in run).strip()
        parts.append(Segment(0, start, end, text, words=run, speaker=run[0].speaker))
    return parts


def assign_speakers(
    transcript: Transcript, turns: Sequence[Turn], centroids: Mapping[str, np.ndarray] | None = None
) -> None:
    """Set `speaker` on every segment and word, split segments at speaker changes, fill the speakers table.

    Labels that are ids ("S3") are kept; any others are numbered in order of first appearance.
    `centroids` (by label) go into the speakers table, so a later run can match these voices.
    """
    if not turns:
        transcript.speakers = []
        return
    segments = [part for segment in transcript.segments for part in _split(segment, turns)]
    order = list(dict.fromkeys(str(s.speaker) for s in segments))
    if all(BATCH_ID.fullmatch(label) for label in order):
        ids = {label: label for label in order}
    else:
        ids = {label: f"S{n}" for n, label in enumerate(order, start=1)}
    for n, segment in enumerate(segments):
        segment.id = n
        segment.speaker = ids[str(segment.speaker)]
        for word in segment.words:
            word.speaker = ids[str(word.speaker)]
    transcript.segments = segments
    seconds = {label: sum(t.end - t.start for t in turns if t.speaker == label) for label in order}
    centroids = centroids or {}
    transcript.speakers = [
        Speaker(
            ids[label],
            f"Speaker {ids[label][1:]}",
            round(seconds[label], 2),
            [round(float(x), 4) for x in centroids[label]] if label in centroids else None,
        )
        for label in order
    ]


def rename(transcript: Transcript, names: Sequence[str]) -> None:
    """Give the speakers `names` in order of first appearance; an empty name keeps the one it has."""
    for speaker, name in zip(transcript.speakers, names, strict=False):
        if name.strip():
            speaker.name = name.strip()
