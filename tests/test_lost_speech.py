"""An empty transcript of audio that holds speech is said as a warning; of silence, it is not. Real Silero VAD,
real audio: the note's speech, and the silent track a screen recording carries."""

from __future__ import annotations

import numpy as np

from tests.conftest import RECORDINGS
from transcriber.audio import SAMPLE_RATE, decode
from transcriber.lost_speech import lost_speech
from transcriber.transcript import Segment, Transcript

NOTE = RECORDINGS / "notes" / "note café.ogg"


def _transcript(text: str) -> Transcript:
    segments = [Segment(id=0, start=0.0, end=7.0, text=text)] if text else []
    return Transcript(source="note.ogg", duration=7.5, language="en", model="tiny.en", engine="faster-whisper",
                      segments=segments)  # fmt: skip


def test_no_words_from_speech_is_a_warning() -> None:
    speech = decode(NOTE).samples
    [warning] = lost_speech(_transcript(""), speech)
    assert warning.startswith("no words were recognised, yet the VAD hears") and "--audio-track" in warning
    assert lost_speech(_transcript("Remember to call about the appointment."), speech) == []


def test_no_words_from_silence_is_no_warning() -> None:
    silence = np.zeros(10 * SAMPLE_RATE, dtype=np.float32)
    assert lost_speech(_transcript(""), silence) == []
