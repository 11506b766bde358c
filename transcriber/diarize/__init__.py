"""Who spoke when: diarizers behind one small protocol, and what the batch does with their turns.

A diarizer turns 16 kHz mono samples into speaker turns `(start, end, speaker)` with speakers labelled
however it likes; `assign.py` gives every word the speaker it overlaps most, splits segments where the
speaker changes and numbers speakers in order of first appearance, so the labels a user sees never depend
on which diarizer ran. Two diarizers: `embedding` (Silero VAD + resemblyzer's GE2E encoder + clustering,
all from pip, fully offline) and `pyannote` (pyannote.audio's pipeline from a local copy of its weights).
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

import numpy as np


class Turn(NamedTuple):
    """One stretch of one speaker, in seconds."""

    start: float
    end: float
    speaker: str


class Diarizer(Protocol):
    """Finds the speaker turns of one recording; the speaker count (fixed or estimated) is set when built."""

    #: What `run` reports and the JSON records ("embedding", "pyannote").
    name: str

    def turns(self, samples: np.ndarray) -> list[Turn]: ...
