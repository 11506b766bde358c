"""The protocol every engine follows, so the batch never needs to know which one it drives."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from transcriber.transcript import Transcript


class Engine(Protocol):
    """Turns 16 kHz mono float32 samples into a verbatim `Transcript` (clean text is left empty)."""

    #: What the manifest and the JSON record as the engine ("faster-whisper", ...).
    name: str
    #: The device actually used ("cpu", "cuda"), after auto-selection.
    device: str

    def transcribe(self, samples: np.ndarray, source: str) -> Transcript: ...

    def close(self) -> None:
        """Free the model's memory so the next stage gets the whole GPU."""
        ...
