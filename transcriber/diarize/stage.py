"""Diarization as a batch stage: choose the diarizer up front, load it on first use, speakers onto transcripts.

The batch calls `key` to extend the recognition settings hash (so diarized transcripts are cached apart
from plain ones and a changed `--speakers`, `--diarizer` or voice sample redoes only diarization), and
`apply` once per file after speech recognition. `--speaker-names` is left to the output stage.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from transcriber.diarize import Diarizer, Turn
from transcriber.diarize.assign import assign_speakers
from transcriber.diarize.select import build, choose_here
from transcriber.progress import Reporter
from transcriber.transcript import Transcript

if TYPE_CHECKING:
    from transcriber.diarize.encoder import SpeakerEncoder
    from transcriber.settings import Settings


class DiarizeStage:
    """One per batch; the diarizer and the voice samples are loaded once, when the first file needs them."""

    def __init__(self, settings: Settings, reporter: Reporter) -> None:
        from transcriber.diarize.voices import check_samples, fingerprint

        self.settings, self.reporter = settings, reporter
        self.choice = choose_here(settings.diarizer)
        reporter.note(self.choice.note)
        if settings.voices:
            check_samples(settings.voices)
        self.voices_key = fingerprint(settings.voices) if settings.voices else None
        self._diarizer: Diarizer | None = None
        self._encoder: SpeakerEncoder | None = None
        self._voices: dict[str, np.ndarray] | None = None

    def key(self, asr_key: Mapping[str, Any]) -> dict[str, Any]:
        """The recognition key plus everything that changes who is said to speak when."""
        extra = {"speakers": self.settings.speakers, "diarizer": self.choice.key, "voices": self.voices_key}
        return {**asr_key, **extra}

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
