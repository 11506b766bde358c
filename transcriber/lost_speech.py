"""A transcript with no words from audio that holds speech: the loss a user cannot see, said as a warning.

An empty transcript is right for a silent recording and wrong for a spoken one (a silent track picked, the
wrong language forced, a model that fails quietly). Only an empty transcript is checked, so the extra VAD
pass (Silero, about a second per hour of audio) costs nothing on the usual file.
"""

from __future__ import annotations

import numpy as np

from transcriber.audio import SAMPLE_RATE
from transcriber.transcript import Transcript

#: Seconds of speech the VAD must hear before an empty transcript is called a loss.
MIN_SPEECH_SECONDS = 1.0
#: How the warning begins; the batch counts the files whose transcript carries it (`is_lost_speech`).
WARNING = "no words were recognised, yet the VAD hears"


def is_lost_speech(warning: str) -> bool:
    """Whether `warning` (one of a transcript's) is this module's, so the summary can count such files."""
    return warning.startswith(WARNING)


def lost_speech(transcript: Transcript, samples: np.ndarray) -> list[str]:
    """[a warning] if `transcript` has no words while the VAD hears speech in `samples`, else []."""
    if transcript.verbatim_text.strip() or not len(samples):
        return []
    from transcriber.vad import speech_timestamps

    seconds = sum(r["end"] - r["start"] for r in speech_timestamps(samples)) / SAMPLE_RATE
    if seconds < MIN_SPEECH_SECONDS:
        return []
    return [
        f"{WARNING} {seconds:.0f} s of speech: check --language, --audio-track (a file with several tracks) or --model"
    ]
