"""Diarization as a batch stage: choose the diarizer up front, load it on first use, speakers onto transcripts.

The diarizer was chosen when the run was planned (`plan.resolve_recognition`, which also puts the choice in
the raw cache's key); the stage builds it on first use and `apply`s it once per file after speech
recognition. Where the diarizer gives speaker centroids (neural), the
batch's `SpeakerRegistry` turns them into ids shared across the batch's files and with the transcripts
that earlier runs left in the output folder. `--speaker-names` is left
to the output stage.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from transcriber.diarize import Count, Diarizer, Turn
from transcriber.diarize.assign import assign_speakers
from transcriber.diarize.registry import SpeakerRegistry, known_speakers
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
        self.registry: SpeakerRegistry | None = None

    def apply(self, transcript: Transcript, samples: np.ndarray) -> list[Turn]:
        """Speakers onto `transcript`; returns the diarizer's turns (the bench scores them against RTTM)."""
        started = time.perf_counter()
        settings = self.settings
        if self._diarizer is None:
            count = Count(settings.speaker_count, settings.min_speakers or 1, settings.max_speakers or Count.most)
            self._diarizer = build(self.choice, count, settings.device)
        turns = self._diarizer.turns(samples)
        transcript.warnings += self._fewer_than_asked(turns)
        centroids: dict[str, np.ndarray] = getattr(self._diarizer, "centroids", {})
        if centroids:
            turns, centroids = self._batch_ids(turns, centroids)
        assign_speakers(transcript, turns, centroids)
        if self.settings.voices is not None and transcript.speakers:
            self._name_from_voices(transcript, samples)
        transcript.timings["diarization"] = round(time.perf_counter() - started, 3)
        return turns

    def _fewer_than_asked(self, turns: list[Turn]) -> list[str]:
        """[a warning] when the diarizer found fewer speakers than `--speakers N` (or `--min-speakers`) asks for:
        it does not invent voices the speech cannot hold (`linking`), and the user should know why."""
        asked = self.settings.speaker_count or self.settings.min_speakers
        found = len({turn.speaker for turn in turns})
        if not asked or found >= asked or not turns:  # no speech at all: nothing about speakers to say
            return []
        flag = "--speakers" if self.settings.speaker_count else "--min-speakers"
        return [
            f"{flag} {asked}: its speech holds {found} speaker{'s' if found != 1 else ''} the diarizer can tell "
            f"apart, so {found} {'were' if found != 1 else 'was'} used; each needs several seconds of speech alone"
        ]

    def _batch_ids(self, turns: list[Turn], centroids: dict[str, np.ndarray]) -> tuple[list[Turn], dict]:
        """Turns and centroids relabelled with the batch's ids (new voices numbered in order of speaking)."""
        first = list(dict.fromkeys(t.speaker for t in sorted(turns) if t.speaker in centroids))
        seconds = {label: sum(t.end - t.start for t in turns if t.speaker == label) for label in first}
        if self.registry is None:  # the output folder's earlier speakers, read once the first file has some
            self.registry = SpeakerRegistry(known_speakers(self.settings.output))
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
