"""The speakers of an output folder, by voice: the same voice in several recordings gets the same id.

Each diarized file's speakers come with their centroids (mean CAM++ embeddings). They are matched one to
one against the speakers known so far (Hungarian assignment on cosine similarity); a match at or above
`SAME_VOICE_SIMILARITY` takes that speaker's id ("S2") and updates its centroid as a running mean, anything
else is a new voice with the next free id. The threshold is the linking's same-speaker distance read as a
similarity, the point where CAM++ centroids of one voice stay and two voices part on the tuning meetings.

The speakers known at the start are those of the JSON transcripts that earlier runs left in the output
folder (`known_speakers`), so a voice keeps its label from one run to the next, not only within a batch.

A file is diarized under file-local ids first ("S1" the first to speak, `FileVoices` their centroids), and
`BatchSpeakers.label` then gives it the batch's: in the diarize stage of a local run, and on the driver of a
Ray run (`cluster.stages`), whose workers return the file-local transcript with its `FileVoices`. One
registry per batch, fed in the folder's order either way, so a cluster labels exactly as a local run does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from transcriber.diarize.linking import SAME_SPEAKER_DISTANCE
from transcriber.state import STATE_DIR
from transcriber.transcript import Speaker, Transcript

SAME_VOICE_SIMILARITY = 1.0 - SAME_SPEAKER_DISTANCE
MAX_TRANSCRIPT_BYTES = 64 << 20  # larger than the JSON of a day of speech: a bigger ".json" is not ours
_ID = re.compile(r"S([1-9][0-9]*)")


def known_speakers(output: Path) -> Iterator[Speaker]:
    """The speakers with a centroid in the JSON transcripts under `output` (files that are not one are passed)."""
    if not output.is_dir():
        return
    for path in sorted(output.rglob("*.json")):
        if STATE_DIR in path.relative_to(output).parts or not path.is_file():
            continue
        try:
            if path.stat().st_size > MAX_TRANSCRIPT_BYTES:
                continue
            text = path.read_text(encoding="utf-8")
            if '"centroid"' not in text:
                continue
            speakers = Transcript.from_json(text).speakers
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            continue  # not a transcript, or one a hand edit broke: it only costs a match
        yield from (s for s in speakers if s.centroid and _ID.fullmatch(s.id))


class SpeakerRegistry:
    """One per batch, seeded with `known` speakers (earlier runs'); `ids` maps one file's labels to ids."""

    def __init__(self, known: Iterable[Speaker] = ()) -> None:
        self.numbers: list[int] = []  # "S<n>" of each known voice
        self.centroids: list[np.ndarray] = []
        self.weights: list[float] = []
        for speaker in known:
            match = _ID.fullmatch(speaker.id)
            centroid = np.asarray(speaker.centroid, dtype=np.float32)
            if match is None or centroid.ndim != 1 or centroid.size == 0:
                continue
            if self.centroids and centroid.shape != self.centroids[0].shape:
                continue  # another embedding model's
            number = int(match.group(1))
            if number in self.numbers:
                self._update(self.numbers.index(number), centroid, speaker.seconds)
            else:
                self._add(number, centroid, speaker.seconds)

    def _add(self, number: int, centroid: np.ndarray, weight: float) -> int:
        self.numbers.append(number)
        self.centroids.append(centroid / max(float(np.linalg.norm(centroid)), 1e-9))
        self.weights.append(max(weight, 1e-3))
        return len(self.numbers) - 1

    def _update(self, n: int, centroid: np.ndarray, weight: float) -> None:
        weight = max(weight, 1e-3)
        mean = self.centroids[n] * self.weights[n] + centroid * weight
        self.centroids[n] = mean / max(float(np.linalg.norm(mean)), 1e-9)
        self.weights[n] += weight

    def ids(self, centroids: Mapping[str, np.ndarray], seconds: Mapping[str, float]) -> dict[str, str]:
        """Label -> "S<n>" for each of one file's speakers; `seconds` of speech weigh the running means."""
        from scipy.optimize import linear_sum_assignment

        labels = list(centroids)
        found: dict[str, int] = {}
        if labels and self.centroids:
            similarity = np.stack([centroids[label] for label in labels]) @ np.stack(self.centroids).T
            for row, column in zip(*linear_sum_assignment(-similarity), strict=True):
                if similarity[row, column] >= SAME_VOICE_SIMILARITY:
                    found[labels[row]] = int(column)
        for label in labels:
            centroid = np.asarray(centroids[label], dtype=np.float32)
            if label in found:
                self._update(found[label], centroid, seconds.get(label, 0.0))
            else:
                found[label] = self._add(max(self.numbers, default=0) + 1, centroid, seconds.get(label, 0.0))
        return {label: f"S{self.numbers[n]}" for label, n in found.items()}


@dataclass
class FileVoices:
    """One file's voices under its file-local ids, in order of first speaking: each one's centroid (as the
    diarizer gave it, unrounded) and seconds of speech, what the registry weighs them by."""

    centroids: dict[str, np.ndarray]
    seconds: dict[str, float]


def _relabel(transcript: Transcript, ids: Mapping[str, str]) -> None:
    """The file-local speaker ids of `transcript` (segments, words, its table) replaced by `ids`; a name that
    is its old id's default ("Speaker 2") follows the id, one that voice samples gave stays."""
    for segment in transcript.segments:
        segment.speaker = ids.get(segment.speaker or "", segment.speaker)
        for word in segment.words:
            word.speaker = ids.get(word.speaker or "", word.speaker)
    for speaker in transcript.speakers:
        new = ids.get(speaker.id, speaker.id)
        if speaker.name == f"Speaker {speaker.id[1:]}":
            speaker.name = f"Speaker {new[1:]}"
        speaker.id = new


class BatchSpeakers:
    """The batch's one `SpeakerRegistry`, seeded from the output folder's transcripts when the first file
    with voices comes (at the same point of the batch in a local run and a Ray run)."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.registry: SpeakerRegistry | None = None

    def label(self, transcript: Transcript, voices: FileVoices) -> dict[str, str]:
        """Give `transcript` the batch's ids for its `voices`; returns file-local id -> batch id."""
        if self.registry is None:
            self.registry = SpeakerRegistry(known_speakers(self.output))
        ids = self.registry.ids(voices.centroids, voices.seconds)
        _relabel(transcript, ids)
        return ids
