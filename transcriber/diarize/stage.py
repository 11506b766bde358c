"""Diarization as a batch stage: choose the diarizer up front, load it on first use, speakers onto transcripts.

The batch calls `key` to extend the recognition settings hash (so diarized transcripts are cached apart
from plain ones and a changed `--speakers`, `--diarizer` or voice sample redoes only diarization), and
`apply` once per file after speech recognition. Where the diarizer gives speaker centroids (neural), the
batch's `SpeakerRegistry` turns them into ids shared across the batch's files. `--speaker-names` is left
to the output stage.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from transcriber.diarize import Count, Diarizer, Turn
from transcriber.diarize.assign import assign_speakers
from transcriber.diarize.registry import SpeakerRegistry
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
        self.registry = SpeakerRegistry()

    def key(self, asr_key: Mapping[str, Any]) -> dict[str, Any]:
        """The recognition key plus everything that changes who is said to speak when."""
        settings = self.settings
        extra: dict[str, Any] = {"speakers": settings.speakers, "diarizer": self.choice.key, "voices": self.voices_key}
        if settings.min_speakers or settings.max_speakers:  # only then, so existing keys stay as they were
            extra["speaker_range"] = [settings.min_speakers, settings.max_speakers]
        return {**asr_key, **extra}

    def apply(self, transcript: Transcript, samples: np.ndarray) -> list[Turn]:
        """Speakers onto `transcript`; returns the diarizer's turns (the bench scores them against RTTM)."""
        started = time.perf_counter()
        settings = self.settings
        if self._diarizer is None:
            count = Count(settings.speaker_count, settings.min_speakers or 1, settings.max_speakers or Count.most)
            self._diarizer = build(self.choice, count, settings.device)
        turns = self._diarizer.turns(samples)
        centroids: dict[str, np.ndarray] = getattr(self._diarizer, "centroids", {})
        if centroids:
            turns, centroids = self._batch_ids(turns, centroids)
        assign_speakers(transcript, turns, centroids)
        if self.settings.voices is not None and transcript.speakers:
            self._name_from_voices(transcript, samples)
        transcript.timings["diarization"] = round(time.perf_counter() - started, 3)
        return turns

    def _batch_ids(self, turns: list[Turn], centroids: dict[str, np.ndarray]) -> tuple[list[Turn], dict]:
        """Turns and centroids relabelled with the batch's ids (new voices numbered in order of speaking)."""
        first = list(dict.fromkeys(t.speaker for t in sorted(turns) if t.speaker in centroids))
        seconds = {label: sum(t.end - t.start for t in turns if t.speaker == label) for label in first}
        ids = self.registry.ids({label: centroids[label] for label in first}, seconds)
        turns = [Turn(t.start, t.end, ids.get(t.speaker, t.speaker)) for t in turns]
        return turns, {ids[label]: centroids[label] for label in first}

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
