"""The speakers of a batch so far, by voice: the same voice in several recordings gets the same id.

Each diarized file's speakers come with their centroids (mean CAM++ embeddings). They are matched one to
one against the batch's speakers so far (Hungarian assignment on cosine similarity); a match at or above
`SAME_VOICE_SIMILARITY` takes that speaker's id ("S2") and updates its centroid as a running mean, anything
else is a new voice with the next id. The threshold is the linking's same-speaker distance read as a
similarity, the point where CAM++ centroids of one voice stay and two voices part on the tuning meetings.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from transcriber.diarize.linking import SAME_SPEAKER_DISTANCE

SAME_VOICE_SIMILARITY = 1.0 - SAME_SPEAKER_DISTANCE


class SpeakerRegistry:
    """One per batch; `ids` maps one file's speaker labels to the batch's ids."""

    def __init__(self) -> None:
        self.centroids: list[np.ndarray] = []
        self.weights: list[float] = []

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
            weight = max(seconds.get(label, 0.0), 1e-3)
            if label in found:
                n = found[label]
                mean = self.centroids[n] * self.weights[n] + centroids[label] * weight
                self.centroids[n] = mean / np.linalg.norm(mean)
                self.weights[n] += weight
            else:
                found[label] = len(self.centroids)
                self.centroids.append(np.asarray(centroids[label], dtype=np.float32))
                self.weights.append(weight)
        return {label: f"S{n + 1}" for label, n in found.items()}
