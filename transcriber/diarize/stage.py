"""Diarization as a batch stage: choose the diarizer up front, load it on first use, speakers onto transcripts.

The diarizer was chosen when the run was planned (`plan.resolve_recognition`, which also puts the choice in
the raw cache's key); the stage builds it on first use and `apply`s it once per file after speech
recognition. `--speaker-names` is left to the output stage.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from transcriber.diarize import Diarizer, Turn
from transcriber.diarize.assign import assign_speakers
from transcriber.diarize.select import Choice, build
from transcriber.transcript import Transcript

if TYPE_CHECKING:
    from transcriber.diarize.encoder import SpeakerEncoder
    from transcriber.settings import Settings


class DiarizeStage:
    """One per batch; the diarizer and the voice samples are loaded once, when the first file needs them."""

    def __init__(self, settings: Settings, choice: Choice) -> None:
        self.settings, self.choice = settings, choice
        self._diarizer: Diarizer | None = None
        self._encoder: SpeakerEncoder | None = None
        self._voices: dict[str, np.ndarray] | None = None

    def apply(self, transcript: Transcript, samples: np.ndarray) -> list[Turn]:
        """Speakers onto `transcript`; returns the diarizer's turns (the bench scores them against RTTM)."""
        started = time.perf_counter()
        if self._diarizer is None:
            self._diarizer = build(self.choice, self.settings.speaker_count, self.settings.device)
        turns = self._diarizer.turns(samples)
        assign_speakers(transcript, turns)
        if self.settings.voices is not None and transcript.speakers:
            self._name_from_voices(transcript, samples)
        transcript.timings["diarization"] = round(time.perf_counter() - started, 3)
        return turns

    def _name_from_voices(self, transcript: Transcript, samples: np.ndarray) -> None:
        from transcriber.diarize.encoder import SpeakerEncoder
        from transcriber.diarize.voices import load_voices, name_from_voices, speaker_embeddings

        if self._encoder is None or self._voices is None:
            self._encoder = getattr(self._diarizer, "encoder", None) or SpeakerEncoder()
            self._voices = load_voices(self.settings.voices, self._encoder)  # type: ignore[arg-type]
        spans = [Turn(s.start, s.end, s.speaker or "") for s in transcript.segments]
        name_from_voices(transcript, speaker_embeddings(samples, spans, self._encoder), self._voices)

    def close(self) -> None:
        self._diarizer = self._encoder = None
