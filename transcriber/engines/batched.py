"""faster-whisper's batched transcription with memory flat in the recording's length, and the same segments.

`BatchedInferencePipeline.transcribe` holds everything for the whole recording at once before decoding the
first batch: a copy of every speech chunk's samples (up to the whole recording again), their log-mel
features, and those features padded to 30 s and stacked (about 0.96 MB a chunk, 115 MB or more an hour),
after a whole-file VAD pass. Here the same steps run in the same order on the same values, but a batch's
samples and features are made when that batch is decoded: the VAD in groups (`transcriber.vad`), the chunk
plan as sample spans, one batch of features at a time. The chunking, the options and the per-batch
decoding are faster-whisper's own (`forward`, `restore_speech_timestamps`), so the text and times are equal.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from inspect import signature
from typing import Any

import numpy as np

from transcriber.vad import speech_timestamps

#: faster-whisper's VAD settings for batching: chunks of at most 30 s, split at pauses of 160 ms.
_MIN_SILENCE_MS = 160


@dataclass(frozen=True)
class _Chunk:
    """Up to 30 s of speech: the VAD regions (sample spans) it joins, and where it sits in the joined speech."""

    spans: tuple[tuple[int, int], ...]
    offset: float
    duration: float

    def samples(self, audio: np.ndarray) -> np.ndarray:
        return np.concatenate([audio[a:b] for a, b in self.spans]) if self.spans else audio[:0]

    @property
    def metadata(self) -> dict[str, Any]:
        return {"offset": self.offset, "duration": self.duration}


def plan_chunks(clips: list[dict[str, int]], max_seconds: float, rate: int) -> list[_Chunk]:
    """faster-whisper's `collect_chunks` as spans: regions joined in order while they fit in `max_seconds`."""
    chunks: list[_Chunk] = []
    spans: list[tuple[int, int]] = []
    length = total = 0
    for clip in clips:
        size = clip["end"] - clip["start"]
        if length + size > max_seconds * rate:
            chunks.append(_Chunk(tuple(spans), total / rate, length / rate))
            total += length
            spans, length = [], 0
        spans.append((clip["start"], clip["end"]))
        length += size
    chunks.append(_Chunk(tuple(spans), total / rate, length / rate))
    return chunks


def _options(pipeline: Any, tokenizer: Any, clips: list[dict[str, int]], decoding: dict[str, Any]) -> Any:
    """The `TranscriptionOptions` the pipeline's own `transcribe` builds from `decoding` and its defaults."""
    from faster_whisper.transcribe import TranscriptionOptions, get_suppressed_tokens

    given = {
        name: parameter.default for name, parameter in signature(pipeline.transcribe).parameters.items()
    } | decoding
    temperature, suppressed = given["temperature"], given["suppress_tokens"]
    return TranscriptionOptions(
        **{name: given[name] for name in _PASSED},
        temperatures=temperature[:1] if isinstance(temperature, list | tuple) else [temperature],
        suppress_tokens=get_suppressed_tokens(tokenizer, suppressed) if suppressed else suppressed,
        hallucination_silence_threshold=None,
        condition_on_previous_text=False,
        clip_timestamps=clips,
        prompt_reset_on_temperature=0.5,
        max_initial_timestamp=0.0,
    )


#: Options the batched `transcribe` passes through unchanged (it fixes the rest, as `_options` does).
_PASSED = (
    *("beam_size", "best_of", "patience", "length_penalty", "repetition_penalty", "no_repeat_ngram_size"),
    *("log_prob_threshold", "no_speech_threshold", "compression_ratio_threshold", "initial_prompt", "prefix"),
    *("suppress_blank", "prepend_punctuations", "append_punctuations", "max_new_tokens", "hotwords"),
    *("word_timestamps", "multilingual", "without_timestamps"),
)


def _features(pipeline: Any, audio: np.ndarray, chunk: _Chunk) -> np.ndarray:
    return pipeline.model.feature_extractor(chunk.samples(audio))[..., :-1]


def _language(pipeline: Any, audio: np.ndarray, chunks: list[_Chunk], language: str | None) -> tuple[str, float]:
    """The language and its probability, detected (multilingual models) from the first 30 s of speech."""
    model = pipeline.model
    if language is not None:
        return (language if model.model.is_multilingual else "en"), 1.0
    if not model.model.is_multilingual:
        return "en", 1.0
    wanted, first = model.feature_extractor.nb_max_frames, []
    for chunk in chunks:
        first.append(_features(pipeline, audio, chunk))
        if sum(f.shape[-1] for f in first) >= wanted:
            break
    first.append(np.full((model.model.n_mels, 1), -1.5, dtype="float32"))  # faster-whisper's dummy frame
    detected, probability, _ = model.detect_language(features=np.concatenate(first, axis=1))
    return detected, float(probability)


def transcribe_batched(
    pipeline: Any, audio: np.ndarray, batch_size: int, language: str | None, **decoding: Any
) -> tuple[Iterator[Any], str, float]:
    """(segments, language, its probability): `pipeline.transcribe(audio, vad_filter=True, ...)`'s results,
    decoded lazily one batch at a time; `decoding` takes that call's other keyword arguments."""
    from faster_whisper.tokenizer import Tokenizer
    from faster_whisper.transcribe import restore_speech_timestamps
    from faster_whisper.vad import VadOptions

    model = pipeline.model
    rate, seconds = model.feature_extractor.sampling_rate, model.feature_extractor.chunk_length
    clips = speech_timestamps(audio, VadOptions(max_speech_duration_s=seconds, min_silence_duration_ms=_MIN_SILENCE_MS))
    chunks = plan_chunks(clips, seconds, rate) if clips else []
    language, probability = _language(pipeline, audio, chunks, language)
    tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language=language)
    options = _options(pipeline, tokenizer, clips, decoding)
    segments = _decoded(pipeline, audio, chunks, batch_size, tokenizer, options)
    return restore_speech_timestamps(segments, clips, rate), language, probability


def _decoded(
    pipeline: Any, audio: np.ndarray, chunks: list[_Chunk], batch_size: int, tokenizer: Any, options: Any
) -> Iterator[Any]:
    """faster-whisper's `_batched_segments_generator`, with each batch's features made when it is decoded."""
    from faster_whisper.audio import pad_or_trim
    from faster_whisper.transcribe import Segment, Word

    pipeline.last_speech_timestamp = 0.0
    number = 0
    for first in range(0, len(chunks), batch_size):
        batch = chunks[first : first + batch_size]
        features = np.stack([pad_or_trim(_features(pipeline, audio, chunk)) for chunk in batch])
        for result in pipeline.forward(features, tokenizer, [chunk.metadata for chunk in batch], options):
            for segment in result:
                number += 1
                yield Segment(
                    seek=segment["seek"], id=number, text=segment["text"],
                    start=round(segment["start"], 3), end=round(segment["end"], 3),
                    words=[Word(**word) for word in segment["words"]] if options.word_timestamps else None,
                    tokens=segment["tokens"], avg_logprob=segment["avg_logprob"],
                    no_speech_prob=segment["no_speech_prob"], compression_ratio=segment["compression_ratio"],
                    temperature=options.temperatures[0],
                )  # fmt: skip
    pipeline.last_speech_timestamp = 0.0
