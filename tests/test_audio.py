"""Streaming decode and piecewise features: the same numbers as faster-whisper's, in flat memory."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from faster_whisper.audio import decode_audio
from faster_whisper.feature_extractor import FeatureExtractor

import transcriber.audio
from tests.conftest import RECORDINGS, ffmpeg, run_cli
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
    monkeypatch.setattr(transcriber.audio, "_declared_duration", lambda container, stream, head: declared)
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


def _lying_flac(tmp_path: Path) -> Path:
    """The note as FLAC, its STREAMINFO claiming 2**36 - 1 samples (50 days at 16 kHz) instead of 7.5 s."""
    path = tmp_path / "liar.flac"
    ffmpeg("-i", str(NOTE), "-ar", "16000", "-ac", "1", str(path))
    data = bytearray(path.read_bytes())
    assert data[:4] == b"fLaC" and data[4] & 0x7F == 0  # the first metadata block is STREAMINFO
    info = 8  # 34 bytes: ..., 20 bits rate, 3 channels, 5 bits/sample, 36 bits total samples, md5
    bits = int.from_bytes(data[info + 10 : info + 18], "big") | (2**36 - 1)
    data[info + 10 : info + 18] = bits.to_bytes(8, "big")
    path.write_bytes(bytes(data))
    return path


def test_a_header_that_lies_long_is_not_believed(tmp_path: Path) -> None:
    liar = _lying_flac(tmp_path)
    import av

    with av.open(str(liar)) as container:
        assert (container.streams.audio[0].duration or 0) > 4e6 * SAMPLE_RATE  # FFmpeg believes it
    tracemalloc.start()
    audio = decode(liar)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert abs(audio.duration - 7.5) < 0.1
    assert peak < 100e6, "the first allocation follows the file's size, not the header"
    assert "looks truncated" in audio.warnings[0]


def test_a_cut_off_wav_is_said_to_be_truncated(tmp_path: Path) -> None:
    whole = tmp_path / "whole.wav"
    ffmpeg("-i", str(MEETING), "-ar", "16000", "-ac", "1", str(whole))
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole.read_bytes()[: 44 + int(0.6 * SAMPLE_RATE) * 2])  # the header still says 12.4 s
    assert not decode(whole).warnings
    [warning] = decode(cut).warnings
    assert "decoded 0.6 s of the 12.4 s the file declares" in warning


def _two_tracks(tmp_path: Path) -> Path:
    """A video whose first audio track is silence and whose second holds the note's speech."""
    path = tmp_path / "screen.mkv"
    video, silence = "color=c=black:s=64x64:r=5:d=7.5", "anullsrc=r=16000:cl=mono"
    maps = ("-map", "0:v", "-map", "1:a", "-map", "2:a", "-shortest", "-c:a", "libopus")
    ffmpeg("-f", "lavfi", "-i", video, "-f", "lavfi", "-i", silence, "-i", str(NOTE), *maps, str(path))
    return path


@pytest.mark.usefixtures("tiny_en")
def test_the_audio_track_with_speech_is_transcribed(tmp_path: Path) -> None:
    video, out = _two_tracks(tmp_path), tmp_path / "out"
    result = run_cli("run", "-i", str(video), "-o", str(out), "--model", "tiny.en", "--formats", "json")
    assert result.returncode == 0, result.stderr
    assert "appointment" in json.loads((out / "screen.json").read_text())["clean_text"].lower()
    [note] = [line for line in result.stderr.splitlines() if "audio tracks" in line]
    assert "transcribed track 1 (the loudest)" in note and "--audio-track" in note
    first = run_cli("run", "-i", str(video), "-o", str(out), "--model", "tiny.en", "--formats", "json",
                    "--audio-track", "0")  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert "appointment" not in json.loads((out / "screen.json").read_text())["clean_text"].lower()
    missing = run_cli("run", "-i", str(video), "-o", str(out), "--model", "tiny.en", "--audio-track", "2")
    assert missing.returncode == 1
    assert "--audio-track 2: it has 2 audio track(s), numbered from 0" in missing.stderr
