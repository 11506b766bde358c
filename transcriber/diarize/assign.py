"""Speakers onto a transcript: each word takes the speaker it overlaps most, segments split at changes.

Speaker ids are numbered in order of first appearance in the transcript ("S1" speaks first), whatever
labels the diarizer used, and the speakers table lists only speakers who said a recognised word, so
"Speaker 2" is always the second voice a reader meets and `--speaker-names` renames in that order.
"""

from __future__ import annotations

from collections.abc import Sequence

from transcriber.diarize import Turn
from transcriber.transcript import Segment, Speaker, Transcript


def speaker_at(turns: Sequence[Turn], start: float, end: float) -> str:
    """The speaker whose turns overlap [start, end] most; with no overlap, the nearest turn's speaker."""
    overlap: dict[str, float] = {}
    for turn in turns:
        shared = min(turn.end, end) - max(turn.start, start)
        if shared > 0:
            overlap[turn.speaker] = overlap.get(turn.speaker, 0.0) + shared
    if overlap:
        return max(overlap, key=overlap.__getitem__)
    middle = (start + end) / 2
    return min(turns, key=lambda t: min(abs(t.start - middle), abs(t.end - middle))).speaker


def _split(segment: Segment, turns: Sequence[Turn]) -> list[Segment]:
    """`segment` as one segment per run of words with the same speaker."""
    if not segment.words:
        segment.speaker = speaker_at(turns, segment.start, segment.end)
        return [segment]
    for word in segment.words:
        word.speaker = speaker_at(turns, word.start, word.end)
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


def assign_speakers(transcript: Transcript, turns: Sequence[Turn]) -> None:
    """Set `speaker` on every segment and word, split segments at speaker changes, fill the speakers table."""
    if not turns:
        transcript.speakers = []
        return
    segments = [part for segment in transcript.segments for part in _split(segment, turns)]
    order = list(dict.fromkeys(s.speaker for s in segments))
    ids = {label: f"S{n}" for n, label in enumerate(order, start=1)}
    for n, segment in enumerate(segments):
        segment.id = n
        segment.speaker = ids[segment.speaker]
        for word in segment.words:
            word.speaker = ids[word.speaker]
    transcript.segments = segments
    seconds = {label: sum(t.end - t.start for t in turns if t.speaker == label) for label in order}
    transcript.speakers = [
        Speaker(ids[label], f"Speaker {ids[label][1:]}", round(seconds[label], 2)) for label in order
    ]


def rename(transcript: Transcript, names: Sequence[str]) -> None:
    """Give the speakers `names` in order of first appearance; an empty name keeps the one it has."""
    for speaker, name in zip(transcript.speakers, names, strict=False):
        if name.strip():
            speaker.name = name.strip()
