"""Diarization error rate and speaker-attributed word accuracy against RTTM references.

Our own DER, the md-eval definition on a 10 ms grid: per frame, with R reference and H hypothesis speakers
and C of them matched, missed = max(0, R-H), false alarm = max(0, H-R), confusion = min(R, H) - C; DER is
their sum over the reference speech time. Hypothesis speakers are mapped one-to-one onto reference
speakers so that their overlap is largest (Hungarian assignment). `collar` seconds either side of each
reference boundary are not scored (0 by default, the strictest; NIST used 0.25).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from transcriber.diarize import Turn
from transcriber.transcript import Transcript

STEP = 0.01


def read_rttm(path: Path) -> list[Turn]:
    """The SPEAKER lines of an RTTM file as turns (start, end, speaker)."""
    turns = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 8 and parts[0] == "SPEAKER":
            start, duration = float(parts[3]), float(parts[4])
            turns.append(Turn(start, start + duration, parts[7]))
    return turns


def _grid(turns: Sequence[Turn], frames: int) -> tuple[np.ndarray, list[str]]:
    labels = list(dict.fromkeys(t.speaker for t in turns))
    grid = np.zeros((frames, len(labels)), dtype=bool)
    for t in turns:
        grid[round(t.start / STEP) : round(t.end / STEP), labels.index(t.speaker)] = True
    return grid, labels


def best_mapping(reference: Sequence[Turn], hypothesis: Sequence[Turn]) -> dict[str, str]:
    """Hypothesis speaker -> reference speaker, one-to-one, maximising the time they overlap."""
    from scipy.optimize import linear_sum_assignment

    frames = round(max(t.end for t in [*reference, *hypothesis]) / STEP) + 1
    ref, ref_labels = _grid(reference, frames)
    hyp, hyp_labels = _grid(hypothesis, frames)
    overlap = hyp.T.astype(int) @ ref.astype(int)
    rows, cols = linear_sum_assignment(-overlap)
    return {hyp_labels[r]: ref_labels[c] for r, c in zip(rows, cols, strict=True) if overlap[r, c] > 0}


@dataclass(frozen=True)
class Der:
    """DER and its parts, each as a share of the scored reference speech time."""

    der: float
    missed: float
    false_alarm: float
    confusion: float
    #: The scored reference speech, so rates over several recordings can be weighted by it.
    reference_seconds: float = 0.0


def der(reference: Sequence[Turn], hypothesis: Sequence[Turn], collar: float = 0.0) -> Der:
    frames = round(max(t.end for t in [*reference, *hypothesis]) / STEP) + 1
    mapping = best_mapping(reference, hypothesis) if hypothesis else {}
    ref, ref_labels = _grid(reference, frames)
    mapped = [Turn(t.start, t.end, mapping.get(t.speaker, f"unmapped:{t.speaker}")) for t in hypothesis]
    hyp, hyp_labels = _grid(mapped, frames)
    scored = np.ones(frames, dtype=bool)
    for t in reference:
        for edge in (t.start, t.end):
            scored[max(0, round((edge - collar) / STEP)) : round((edge + collar) / STEP)] = False
    n_ref, n_hyp = ref.sum(axis=1), hyp.sum(axis=1)
    shared = [label for label in ref_labels if label in hyp_labels]
    correct = sum(ref[:, ref_labels.index(s)] & hyp[:, hyp_labels.index(s)] for s in shared) + np.zeros(frames)
    total = max(int(n_ref[scored].sum()), 1)
    missed = np.maximum(0, n_ref - n_hyp)[scored].sum() / total
    false_alarm = np.maximum(0, n_hyp - n_ref)[scored].sum() / total
    confusion = (np.minimum(n_ref, n_hyp) - correct)[scored].sum() / total
    parts = (float(missed + false_alarm + confusion), float(missed), float(false_alarm), float(confusion))
    return Der(*parts, reference_seconds=total * STEP)


def speaker_word_accuracy(reference: Sequence[Turn], transcript: Transcript) -> float | None:
    """Share of recognised words (inside reference speech) whose speaker, mapped, is the reference speaker.

    None when no word could be scored.
    """
    right, scored = speaker_word_counts(reference, transcript)
    return right / scored if scored else None


def speaker_word_counts(reference: Sequence[Turn], transcript: Transcript) -> tuple[int, int]:
    """(words with the right speaker, words scored): speaker-attributed word accuracy before the division.

    The reference speaker of a word is the one whose turn overlaps the word most; words outside every
    reference turn are not scored. Word speakers are mapped onto reference speakers as in DER (largest
    overlap, one-to-one), so the labels' names do not matter.
    """
    words = [w for s in transcript.segments for w in s.words]
    hypothesis = [Turn(w.start, w.end, w.speaker or "") for w in words if w.end > w.start]
    if not reference or not hypothesis:
        return 0, 0
    mapping = best_mapping(reference, hypothesis)
    right = scored = 0
    for word in words:
        overlaps: dict[str, float] = {}  # each speaker's largest overlap with the word, over all its turns
        for t in reference:
            overlaps[t.speaker] = max(overlaps.get(t.speaker, 0.0), min(t.end, word.end) - max(t.start, word.start))
        speaker, overlap = max(overlaps.items(), key=lambda kv: kv[1])
        if overlap > 0:
            scored += 1
            right += mapping.get(word.speaker or "") == speaker
    return right, scored
