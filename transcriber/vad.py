"""Where speech is: the Silero VAD that ships in faster-whisper's wheel, the one voice-activity detector here.

faster-whisper's `get_speech_timestamps` hands the model the whole recording at once: a padded copy of the
samples, a second copy with each 32 ms window's context prepended, and the model's activations for up to
10,000 windows, about 210 MB more for ten minutes of audio. `speech_timestamps` feeds the same model the same
windows 1,000 at a time (its state carries from group to group; the probabilities are bit for bit those of
groups of 10,000), building each group's input as it goes, and then applies faster-whisper's own rules to
them: the regions are equal and memory stays flat (about 15 MB over the samples, whatever the length).

Callers choose the pauses that split regions and the padding around them (an audio LLM's windows want long
pauses and generous padding, diarization short turn-taking gaps); the regions are always in samples.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_WINDOW = 512  # samples per probability (32 ms); the model's input size
_CONTEXT = 64  # samples of the previous window the model sees before each one
_GROUP = 1000  # windows per model call (32 s of audio)


def speech_probabilities(samples: np.ndarray) -> np.ndarray:
    """Silero's speech probability for every 512-sample window, as faster-whisper's `SileroVADModel` computes it.

    Its quirks are kept so the numbers agree: the recording is padded with zeros to one window past a
    multiple of 512 (a full window when it already is one), and the last window's final 64 samples are zeroed.
    """
    from faster_whisper.vad import get_vad_model

    session = get_vad_model().session
    count = len(samples) // _WINDOW + 1
    probabilities = np.empty(count, dtype=np.float32)
    state = {"h": np.zeros((1, 1, 128), dtype=np.float32), "c": np.zeros((1, 1, 128), dtype=np.float32)}
    context = np.zeros(_CONTEXT, dtype=np.float32)
    for first in range(0, count, _GROUP):
        last = min(first + _GROUP, count)
        block = np.zeros((last - first, _CONTEXT + _WINDOW), dtype=np.float32)
        body = samples[first * _WINDOW : last * _WINDOW]
        full, rest = divmod(len(body), _WINDOW)
        block[:full, _CONTEXT:] = body[: full * _WINDOW].reshape(full, _WINDOW)
        if rest:
            block[full, _CONTEXT : _CONTEXT + rest] = body[full * _WINDOW :]
        if last == count:
            block[-1, -_CONTEXT:] = 0.0
        block[0, :_CONTEXT] = context
        block[1:, :_CONTEXT] = block[:-1, -_CONTEXT:]
        context = block[-1, -_CONTEXT:].copy()
        output, state["h"], state["c"] = session.run(None, {"input": block, **state})
        probabilities[first:last] = np.asarray(output).reshape(-1)
    return probabilities


def speech_timestamps(samples: np.ndarray, options: Any = None) -> list[dict[str, int]]:
    """faster-whisper's `get_speech_timestamps(samples, options)`, equal to it, without its copies of the audio.

    The rules below are faster-whisper's (from silero-vad): a region opens at `threshold`, closes after
    `min_silence_duration_ms` under `neg_threshold`, is cut at a pause of 98 ms or more (else hard) when it
    outgrows `max_speech_duration_s`, is dropped under `min_speech_duration_ms`, and is padded by
    `speech_pad_ms` (half the gap each side when neighbours are closer than two pads).
    """
    from faster_whisper.vad import VadOptions

    opts = options or VadOptions()
    rate = 16000
    pad = rate * opts.speech_pad_ms / 1000
    min_speech = rate * opts.min_speech_duration_ms / 1000
    max_speech = rate * opts.max_speech_duration_s - _WINDOW - 2 * pad
    min_silence = rate * opts.min_silence_duration_ms / 1000
    min_silence_at_max = rate * 98 / 1000
    neg_threshold = max(opts.threshold - 0.15, 0.01) if opts.neg_threshold is None else opts.neg_threshold
    length = len(samples)

    triggered, speeches, current = False, [], {}
    temp_end = prev_end = next_start = 0
    for i, prob in enumerate(speech_probabilities(samples).tolist()):
        at = _WINDOW * i
        if prob >= opts.threshold and temp_end:
            temp_end = 0
            if next_start < prev_end:
                next_start = at
        if prob >= opts.threshold and not triggered:
            triggered = True
            current["start"] = at
            continue
        if triggered and at - current["start"] > max_speech:
            if prev_end:
                current["end"] = prev_end
                speeches.append(current)
                current = {}
                if next_start < prev_end:
                    triggered = False
                else:
                    current["start"] = next_start
                prev_end = next_start = temp_end = 0
            else:
                current["end"] = at
                speeches.append(current)
                current = {}
                prev_end = next_start = temp_end = 0
                triggered = False
                continue
        if prob < neg_threshold and triggered:
            if not temp_end:
                temp_end = at
            if at - temp_end > min_silence_at_max:
                prev_end = temp_end
            if at - temp_end < min_silence:
                continue
            current["end"] = temp_end
            if current["end"] - current["start"] > min_speech:
                speeches.append(current)
            current = {}
            prev_end = next_start = temp_end = 0
            triggered = False
    if current and length - current["start"] > min_speech:
        current["end"] = length
        speeches.append(current)
    return _padded(speeches, pad, length)


def _padded(speeches: list[dict[str, int]], pad: float, length: int) -> list[dict[str, int]]:
    """Each region widened by `pad` samples, or by half the gap where the next one is closer than two pads."""
    for i, speech in enumerate(speeches):
        if i == 0:
            speech["start"] = int(max(0, speech["start"] - pad))
        if i != len(speeches) - 1:
            gap = speeches[i + 1]["start"] - speech["end"]
            if gap < 2 * pad:
                speech["end"] += int(gap // 2)
                speeches[i + 1]["start"] = int(max(0, speeches[i + 1]["start"] - gap // 2))
            else:
                speech["end"] = int(min(length, speech["end"] + pad))
                speeches[i + 1]["start"] = int(max(0, speeches[i + 1]["start"] - pad))
        else:
            speech["end"] = int(min(length, speech["end"] + pad))
    return speeches


def speech_regions(
    samples: np.ndarray, min_silence_ms: int = 300, pad_ms: int = 200, min_speech_ms: int | None = None
) -> list[tuple[int, int]]:
    """Speech as (start, end) in samples (16 kHz), split at pauses of `min_silence_ms`, padded by `pad_ms`;
    regions shorter than `min_speech_ms` are dropped (faster-whisper's default when None)."""
    from faster_whisper.vad import VadOptions

    minimum = {} if min_speech_ms is None else {"min_speech_duration_ms": min_speech_ms}
    options = VadOptions(min_silence_duration_ms=min_silence_ms, speech_pad_ms=pad_ms, **minimum)
    return [(r["start"], r["end"]) for r in speech_timestamps(samples, options)]
