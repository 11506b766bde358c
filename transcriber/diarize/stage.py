"""Diarization as a batch stage: choose the diarizer up front, load it on first use, speakers onto transcripts.

The diarizer was chosen when the run was planned (`plan.resolve_recognition`, which also puts the choice in
the raw cache's key); the stage builds it on first use and `apply`s it once per file after speech
recognition. Where the diarizer gives speaker centroids (neural), the file is labelled with file-local ids
first and the batch's registry (`BatchSpeakers`) then gives ids shared across the batch's files and with the
transcripts that earlier runs left in the output folder. On a Ray worker that second step is the driver's
(`batch_ids=False`: `voices` holds what it needs), so one registry serves the whole batch. `--speaker-names`
is left to the output stage.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from transcriber.diarize import Count, Diarizer, Turn
from transcriber.diarize.assign import assign_speakers
from transcriber.diarize.registry import BatchSpeakers, FileVoices
from transcriber.diarize.select import Choice, build
from transcriber.transcript import Transcript

if TYPE_CHECKING:
    from transcriber.diarize.encoder import SpeakerEncoder
    from transcriber.settings import Settings


class DiarizeStage:
    """One per batch; the diarizer and the voice samples are loaded once, when the first file needs them."""

    def __init__(self, settings: Settings, choice: Choice, batch_ids: bool = True) -> None:
        """`batch_ids`: give the batch's speaker ids here (a local run), or leave the file-local ids and the
        last file's `voices` to the caller (a Ray worker, whose driver holds the batch's registry)."""
        self.settings, self.choice = settings, choice
        self._diarizer: Diarizer | None = None
        self._encoder: SpeakerEncoder | None = None
        self._voices: dict[str, np.ndarray] | None = None
        self.batch = BatchSpeakers(settings.output) if batch_ids else None
        #: The last file's voices under its file-local ids (None when its diarizer gives no centroids).
        self.voices: FileVoices | None = None

    def apply(self, transcript: Transcript, samples: np.ndarray) -> list[Turn]:
        """Speakers onto `transcript`; returns the diarizer's turns (the bench scores them against RTTM)."""
        started = time.perf_counter()
        settings = self.settings
        if self._diarizer is None:
            count = Count(settings.speaker_count, settings.min_speakers or 1, settings.max_speakers or Count.most)
            self._diarizer = build(self.choice, count)
        self.voices = None
        turns = self._diarizer.turns(samples)
        transcript.warnings += self._fewer_than_asked(turns)
        centroids: dict[str, np.ndarray] = getattr(self._diarizer, "centroids", {})
        if centroids and all(t.speaker in centroids for t in turns):  # the neural diarizer's: one per label
            turns, self.voices = _file_ids(turns, centroids)
            centroids = self.voices.centroids
        assign_speakers(transcript, turns, centroids)
        if self.settings.voices is not None and transcript.speakers:
            self._name_from_voices(transcript, samples)
        if self.voices is not None and self.batch is not None:
            ids = self.batch.label(transcript, self.voices)
            turns = [Turn(t.start, t.end, ids.get(t.speaker, t.speaker)) for t in turns]
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


def _file_ids(turns: list[Turn], centroids: dict[str, np.ndarray]) -> tuple[list[Turn], FileVoices]:
    """Turns relabelled with file-local ids ("S1" the first to speak), which `assign_speakers` keeps and
    `BatchSpeakers.label` maps to the batch's, and those voices' centroids and seconds."""
    first = list(dict.fromkeys(t.speaker for t in sorted(turns)))
    local = {label: f"S{n}" for n, label in enumerate(first, start=1)}
    seconds = {local[label]: sum(t.end - t.start for t in turns if t.speaker == label) for label in first}
    turns = [Turn(t.start, t.end, local[t.speaker]) for t in turns]
    return turns, FileVoices({local[label]: centroids[label] for label in first}, seconds)
