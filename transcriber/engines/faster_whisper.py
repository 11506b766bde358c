"""faster-whisper (CTranslate2) as an engine: VAD, hallucination guards and word timestamps on by default."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from transcriber.audio import SAMPLE_RATE
from transcriber.engines.batched import transcribe_batched
from transcriber.engines.features import PiecewiseFeatureExtractor
from transcriber.text_guards import collapse_loops
from transcriber.transcript import Segment, Transcript, Word


@dataclass(frozen=True)
class WhisperOptions:
    """Decoding options; the defaults are the hallucination guards the tool promises.

    `condition_on_previous_text=False` stops one bad segment from seeding the next; the compression-ratio,
    log-prob and no-speech thresholds drop looping or empty-audio segments; VAD keeps silence (where
    Whisper invents "Thank you.") away from the model altogether.
    """

    language: str | None = None
    beam_size: int = 5
    batch_size: int = 1
    vad: bool = True
    condition_on_previous_text: bool = False
    compression_ratio_threshold: float = 2.4
    log_prob_threshold: float = -1.0
    no_speech_threshold: float = 0.6
    hallucination_silence_threshold: float | None = 2.0


def pick_device(requested: str) -> tuple[str, str | None]:
    """(device, note): "cuda" only when CTranslate2 itself sees a GPU.

    A ROCm torch reports cuda as available even where ctranslate2 is a CPU-only build, so torch is not
    asked. The note, when set, is the one line telling the user why the CPU is used.
    """
    import ctranslate2

    count = ctranslate2.get_cuda_device_count()
    if requested == "cpu":
        return "cpu", None
    if count > 0:
        return "cuda", None
    if requested == "cuda":
        from transcriber.errors import ConfigError

        raise ConfigError(
            "--device cuda: this CTranslate2 build sees no CUDA/ROCm GPU; use --device cpu, or install the "
            "ROCm or CUDA build of ctranslate2 (the ROCm container image has it)"
        )
    return "cpu", "CTranslate2 sees no GPU; transcribing on the CPU (slower, same results)"


def pick_compute_type(requested: str, device: str) -> str:
    """int8 on CPU and float16 on GPU unless the user chose; both are CTranslate2's fastest safe picks."""
    if requested != "auto":
        return requested
    return "float16" if device == "cuda" else "int8"


class FasterWhisperEngine:
    """Loads one Whisper model once and transcribes many recordings with it."""

    name = "faster-whisper"

    def __init__(
        self, model_path: Path, model_name: str, device: str, compute_type: str, options: WhisperOptions
    ) -> None:
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        self.device = device
        self.compute_type = compute_type
        self.model_name = model_name
        self.options = options
        self._model = WhisperModel(str(model_path), device=device, compute_type=compute_type)
        self._model.feature_extractor = PiecewiseFeatureExtractor(self._model.feature_extractor)  # flat memory
        self._pipeline = BatchedInferencePipeline(self._model) if options.batch_size > 1 and options.vad else None

    def transcribe(self, samples: np.ndarray, source: str) -> Transcript:
        opts = self.options
        decoding = dict(
            beam_size=opts.beam_size,
            word_timestamps=True,
            compression_ratio_threshold=opts.compression_ratio_threshold,
            log_prob_threshold=opts.log_prob_threshold,
            no_speech_threshold=opts.no_speech_threshold,
        )
        started = time.perf_counter()
        if self._pipeline is not None:  # each batch made as it is decoded (engines/batched.py)
            raw, language, probability = transcribe_batched(
                self._pipeline, samples, opts.batch_size, opts.language, **decoding
            )
        else:  # batch 1, or no VAD: no chunks to batch (the pipeline takes only 30 s without them), so in order
            raw, info = self._model.transcribe(
                samples, language=opts.language, vad_filter=opts.vad,
                condition_on_previous_text=opts.condition_on_previous_text,
                hallucination_silence_threshold=opts.hallucination_silence_threshold, **decoding,
            )  # fmt: skip
            language, probability = info.language, info.language_probability
        return Transcript(
            source=source,
            duration=len(samples) / SAMPLE_RATE,
            language=language,
            language_probability=float(probability),
            model=self.model_name,
            engine=self.name,
            segments=_segments(raw),
            timings={"asr_seconds": round(time.perf_counter() - started, 3)},
        )

    def close(self) -> None:
        self._pipeline = None
        del self._model


def _segments(raw: Iterable[Any]) -> list[Segment]:
    """faster-whisper's segments (consumed here: it decodes lazily) as ours, loops collapsed, empties dropped."""
    segments: list[Segment] = []
    for seg in raw:
        text = collapse_loops(seg.text.strip())
        if not text:
            continue
        words = [
            Word(start=float(w.start), end=float(w.end), text=w.word, probability=float(w.probability))
            for w in seg.words or []
        ]
        segments.append(Segment(id=len(segments), start=float(seg.start), end=float(seg.end), text=text, words=words))
    return segments
