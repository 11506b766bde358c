"""resemblyzer's GE2E speaker encoder over many short windows of one recording, in batches.

resemblyzer's own `embed_utterance` embeds one utterance at a time; diarization needs hundreds of short
windows, so the mel spectrogram of the whole recording is computed once and windows are frame slices of it
(10 ms frames), fed to the encoder's LSTM in batches.

The LSTM runs on one CPU thread: it is small (3 x 256) and gains little from more, while torch's thread pool
spins when the cores are busy with anything else. On the 2-core CI machine with other work running the
real-time factor was 0.032 on one thread and 0.41 on torch's default two.
"""

from __future__ import annotations

import numpy as np

from transcriber.diarize.spans import speech_frames, windows
from transcriber.extras import require

_BATCH = 64


class SpeakerEncoder:
    """Loads the encoder whose weights ship inside the resemblyzer wheel (no download, no token)."""

    def __init__(self, device: str = "cpu") -> None:
        require("diarize", "speaker diarization (--speakers)", "resemblyzer", "webrtcvad", "librosa")
        from resemblyzer import VoiceEncoder

        self.model = VoiceEncoder(device, verbose=False)

    @staticmethod
    def mel(samples: np.ndarray) -> np.ndarray:
        """(frames, 40) mel spectrogram of the whole recording, after resemblyzer's volume normalisation."""
        from resemblyzer import normalize_volume, wav_to_mel_spectrogram
        from resemblyzer.hparams import audio_norm_target_dBFS

        if not np.any(samples):
            return wav_to_mel_spectrogram(samples.astype(np.float32))
        return wav_to_mel_spectrogram(normalize_volume(samples, audio_norm_target_dBFS, increase_only=True))

    def embed(self, mel: np.ndarray, spans: list[tuple[int, int]]) -> np.ndarray:
        """One L2-normed 256-d embedding per `(first, last)` frame span; spans of one length share batches."""
        import torch

        out = np.zeros((len(spans), 256), dtype=np.float32)
        by_length: dict[int, list[int]] = {}
        for n, (first, last) in enumerate(spans):
            by_length.setdefault(last - first, []).append(n)
        threads = torch.get_num_threads()
        torch.set_num_threads(1 if self.model.device.type == "cpu" else threads)
        try:
            with torch.inference_mode():
                for indices in by_length.values():
                    for at in range(0, len(indices), _BATCH):
                        chunk = indices[at : at + _BATCH]
                        batch = torch.from_numpy(np.stack([mel[spans[i][0] : spans[i][1]] for i in chunk]))
                        out[chunk] = self.model(batch.to(self.model.device)).cpu().numpy()
        finally:
            torch.set_num_threads(threads)
        return out

    def embed_samples(self, samples: np.ndarray) -> np.ndarray | None:
        """One embedding for a whole stretch of one voice (the mean of its windows), or None if silent."""
        spans = windows(speech_frames(samples))
        if not spans:
            return None
        mean = self.embed(self.mel(samples), spans).mean(axis=0)
        return mean / np.linalg.norm(mean)
