"""Whisper's log-mel features, computed a piece at a time so memory stays flat with the recording's length.

faster-whisper's `FeatureExtractor` builds the whole spectrogram in one go: a padded copy of the audio, every
400-sample frame windowed (7x the audio), their complex FFT (14x) and a complex64 copy (7x), so a 60-minute
file needs about 3 GB for features alone. The same arithmetic over 30-second pieces, followed by the same
global clamp (the top 8 dB of the whole file, which is why pieces are joined before it), needs the output
(115 MB per hour) plus a few MB.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Frames per piece: 30 s at Whisper's 10 ms hop; a piece's temporaries are then about 15 MB.
_PIECE_FRAMES = 3000


def _reflected(waveform: np.ndarray, total: int, start: int, end: int) -> np.ndarray:
    """Samples `start:end` of `waveform` zero-padded to `total`, reflected past both ends like `np.pad`."""
    if start >= 0 and end <= len(waveform):
        return waveform[start:end]
    index = np.arange(start, end)
    index = np.where(index < 0, -index, index)
    index = np.where(index >= total, 2 * (total - 1) - index, index)
    piece = np.zeros(end - start, dtype=np.float32)
    inside = index < len(waveform)
    piece[inside] = waveform[index[inside]]
    return piece


def log_mel(waveform: np.ndarray, n_fft: int, hop: int, filters: np.ndarray, padding: int) -> np.ndarray:
    """The log-mel spectrogram faster-whisper computes (centred STFT, last frame dropped, clamp, scale)."""
    waveform = np.asarray(waveform, dtype=np.float32)
    total = len(waveform) + padding
    frames_out = total // hop
    window = np.hanning(n_fft + 1)[:-1].astype(np.float32)
    out = np.empty((filters.shape[0], frames_out), dtype=np.float32)
    for first in range(0, frames_out, _PIECE_FRAMES):
        last = min(first + _PIECE_FRAMES, frames_out)
        piece = _reflected(waveform, total, first * hop - n_fft // 2, (last - 1) * hop + n_fft - n_fft // 2)
        frames = np.lib.stride_tricks.sliding_window_view(piece, n_fft)[::hop]
        spectrum = np.fft.rfft(frames * window, n=n_fft, axis=-1).astype(np.complex64)
        magnitudes = np.abs(spectrum.T) ** 2
        out[:, first:last] = np.log10(np.clip(filters @ magnitudes, a_min=1e-10, a_max=None))
    np.maximum(out, out.max() - 8.0, out=out)
    out += 4.0
    out /= 4.0
    return out


class PiecewiseFeatureExtractor:
    """Stands in for faster-whisper's `FeatureExtractor` (same call, same attributes) with `log_mel`."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __call__(self, waveform: np.ndarray, padding: int = 160, chunk_length: int | None = None) -> np.ndarray:
        inner = self._inner
        if len(waveform) + padding <= inner.n_fft:  # shorter than one frame: reflection wraps; let it do that
            return inner(waveform, padding=padding, chunk_length=chunk_length)
        if chunk_length is not None:  # what the original does with it, so later reads of these agree
            inner.n_samples = chunk_length * inner.sampling_rate
            inner.nb_max_frames = inner.n_samples // inner.hop_length
        return log_mel(waveform, inner.n_fft, inner.hop_length, inner.mel_filters, padding)
