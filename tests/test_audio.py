"""Streaming decode and piecewise features: the same numbers as faster-whisper's, in flat memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from faster_whisper.audio import decode_audio
from faster_whisper.feature_extractor import FeatureExtractor

import transcriber.audio
from tests.support.runs import RECORDINGS
from transcriber.audio import SAMPLE_RATE, decode
from transcriber.engines.features import PiecewiseFeatureExtractor

MEETING = RECORDINGS / "meeting.flac"
NOTE = RECORDINGS / "notes" / "note café.ogg"


@pytest.mark.parametrize("path", [MEETING, NOTE], ids=["flac", "ogg"])
def test_decode_gives_faster_whispers_samples(path: Path) -> None:
    ours, theirs = decode(path).samples, decode_audio(str(path), sampling_rate=SAMPLE_RATE)
    assert ours.dtype == np.float32 and ours.shape == theirs.shape
    assert np.abs(ours - theirs).max() < 1e-4  # theirs goes through int16, ours stays float


@pytest.mark.parametrize("declared", [None, 1.0], ids=["missing", "too-short"])
def test_a_missing_or_wrong_declared_duration_grows_the_array(
    monkeypatch: pytest.MonkeyPatch, declared: float | None
) -> None:
    reference = decode(MEETING).samples
    monkeypatch.setattr(transcriber.audio, "_declared_duration", lambda container, stream: declared)
    monkeypatch.setattr(transcriber.audio, "_UNKNOWN_DURATION_SAMPLES", SAMPLE_RATE)
    audio = decode(MEETING)
    assert np.array_equal(audio.samples, reference)
    assert not audio.warnings


def test_piecewise_features_equal_the_whole_file_ones() -> None:
    samples = np.concatenate([decode(MEETING).samples] * 5)  # 62 s: three pieces, the last one short
    whole, piecewise = FeatureExtractor(), PiecewiseFeatureExtractor(FeatureExtractor())
    for waveform in (samples, samples[: 30 * SAMPLE_RATE + 7], samples[:5000], samples[:300]):
        expected, got = whole(waveform), piecewise(waveform)
        assert got.shape == expected.shape and got.dtype == expected.dtype
        assert np.abs(got - expected).max() < 1e-5
    assert piecewise(samples, chunk_length=20).shape == whole(samples, chunk_length=20).shape
    assert piecewise.nb_max_frames == whole.nb_max_frames == 2000
