"""Granite Speech's inputs: its processor with log-mel features computed in torch, and its transcription prompt.

transformers' `GraniteSpeechFeatureExtractor` computes its log-mel spectrogram with torchaudio, which is not
installable beside our torch: torchaudio stopped at 2.11, built for torch 2.11, and PyPI's wheel needs the CUDA
torch libraries. `TorchGraniteFeatures` is that extractor with the same spectrogram done by `torch.stft` and the
HTK mel filterbank torchaudio's `MelSpectrogram` builds (periodic Hann window of `win_length` in an `n_fft`
frame, centred with reflect padding, power 2, no filter normalisation); the rest (log10 floored 8 decades under
the loudest frame, frames stacked in pairs, the projector's token count per recording) is the extractor's own
code, inherited. tests/test_granite_speech.py checks the features against librosa's independent STFT and mel.

Imported only when a Granite model loads, so transformers stays out of the light imports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers import AutoTokenizer, GraniteSpeechFeatureExtractor, GraniteSpeechProcessor
from transformers.feature_extraction_sequence_utils import SequenceFeatureExtractor
from transformers.feature_extraction_utils import BatchFeature

#: The model card's transcription request (granite-speech 4.x): the audio token, then the instruction; a named
#: language goes into it ("transcribe the German speech ...").
_INSTRUCTION = "transcribe the {}speech with proper punctuation and capitalization."
#: The languages Granite Speech 4.1 transcribes, by the names its prompt uses.
LANGUAGE_NAMES = {"en": "English", "fr": "French", "de": "German", "es": "Spanish", "pt": "Portuguese",
                  "ja": "Japanese"}  # fmt: skip


def mel_filterbank(n_freqs: int, n_mels: int, sample_rate: int) -> torch.Tensor:
    """Triangular HTK mel filters from 0 Hz to Nyquist, unnormalised, shape (n_freqs, n_mels), as torchaudio's."""
    import math

    all_freqs = torch.linspace(0, sample_rate // 2, n_freqs)
    mel_max = 2595.0 * math.log10(1.0 + (sample_rate // 2) / 700.0)
    f_pts = 700.0 * (10.0 ** (torch.linspace(0.0, mel_max, n_mels + 2) / 2595.0) - 1.0)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    return torch.clamp(torch.minimum(down, up), min=0.0)


class TorchGraniteFeatures(GraniteSpeechFeatureExtractor):
    """`GraniteSpeechFeatureExtractor` whose mel spectrogram is computed without torchaudio (see the module)."""

    def __init__(
        self,
        sampling_rate: int = 16000,
        n_fft: int = 512,
        win_length: int = 400,
        hop_length: int = 160,
        n_mels: int = 80,
        projector_window_size: int = 15,
        projector_downsample_rate: int = 5,
        padding_value: float = 0.0,
        **kwargs: Any,
    ) -> None:
        # The parent's __init__ builds torchaudio's transform; this keeps its settings and skips that.
        feature_size = n_mels if kwargs.get("feature_size") is None else kwargs.pop("feature_size")
        kwargs.pop("feature_extractor_type", None)
        SequenceFeatureExtractor.__init__(
            self, feature_size=feature_size, sampling_rate=sampling_rate, padding_value=padding_value, **kwargs
        )
        self.sampling_rate = sampling_rate
        self.melspec_kwargs = {"sample_rate": sampling_rate, "n_fft": n_fft, "win_length": win_length,
                               "hop_length": hop_length, "n_mels": n_mels}  # fmt: skip
        self.projector_window_size = projector_window_size
        self.projector_downsample_rate = projector_downsample_rate
        # Named as the base class's to_dict() expects, so they stay out of the serialised settings.
        self.window = torch.hann_window(win_length)
        self.mel_filters = mel_filterbank(n_fft // 2 + 1, n_mels, sampling_rate)

    def __call__(self, audios: Any, device: str | None = "cpu") -> BatchFeature:
        """The parent's __call__, less its torchaudio check: features, projector sizes and their mask."""
        batched, lengths = self._get_audios_and_audio_lengths(audios)
        sizes = self._get_num_audio_features(lengths)
        mask = torch.arange(max(sizes)).view(1, -1) < torch.tensor(sizes).view(-1, 1)
        features = self._extract_mel_spectrograms(batched, device=device)
        return BatchFeature(data={"input_features": features, "audio_embed_sizes": sizes, "input_features_mask": mask})

    def _extract_mel_spectrograms(self, audio: torch.Tensor, device: str | None = "cpu") -> torch.Tensor:
        settings = self.melspec_kwargs
        window, filters = self.window, self.mel_filters
        if device is not None:
            audio, window, filters = audio.to(device), window.to(device), filters.to(device)
        with torch.no_grad():
            spectrum = torch.stft(audio.float(), n_fft=settings["n_fft"], hop_length=settings["hop_length"],
                                  win_length=settings["win_length"], window=window, center=True, pad_mode="reflect",
                                  return_complex=True).abs().pow(2)  # fmt: skip
            mel = torch.matmul(spectrum.transpose(-1, -2), filters)  # (batch, frames, mels)
            logmel = mel.clip_(min=1e-10).log10_()
            loudest = logmel.amax(dim=(-2, -1), keepdim=True)
            logmel = torch.maximum(logmel, loudest - 8.0).div_(4).add_(1)
            if logmel.shape[1] % 2 == 1:  # an odd last frame is dropped, then frames are stacked in pairs
                logmel = logmel[:, :-1]
            return logmel.reshape(audio.shape[0], -1, 2 * logmel.shape[-1])


def load_processor(folder: Path) -> Any:
    """The model's own `GraniteSpeechProcessor` (tokenizer, chat template, audio-token expansion) over
    `TorchGraniteFeatures` read from the folder's preprocessor config."""
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    tokenizer.padding_side = "left"  # a decoder-only batch: every prompt ends where generation starts
    extractor = TorchGraniteFeatures.from_pretrained(str(folder))
    return GraniteSpeechProcessor(audio_processor=extractor, tokenizer=tokenizer)


def prompt(tokenizer: Any, language: str) -> str:
    """The chat-templated transcription request, naming `language` when it is known."""
    name = LANGUAGE_NAMES.get(language, language) + " " if language != "auto" else ""
    chat = [{"role": "user", "content": "<|audio|>" + _INSTRUCTION.format(name)}]
    return str(tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True))
