"""Per-file failures: one line naming the recording, the stage and the fix; which ones stop the batch."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from transcriber.errors import AudioError, BatchStopped, describe_failure, display


@pytest.mark.parametrize(
    ("exc", "stage", "fatal", "words"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), "write", True, "free some space"),
        (OSError(errno.EDQUOT, "Disk quota exceeded"), "write", True, "free some space"),
        (OSError(errno.EROFS, "Read-only file system"), "write", True, "make it writable"),
        (PermissionError(errno.EACCES, "Permission denied", "OUT/sub/a.txt"), "write", False, "OUT/sub/a.txt"),
        (RuntimeError("CUDA error: an illegal memory access was encountered"), "recognise", True, "GPU stopped"),
        (RuntimeError("HIP error: hipErrorNoDevice"), "clean", True, "GPU stopped"),
        (RuntimeError("CUDA failed with error out of memory"), "recognise", False, "out of memory; try a smaller"),
        (MemoryError(), "decode", False, "out of memory; check that the file"),
        (ValueError("multi\nline\nmessage"), "clean", False, "ValueError: multi line message; try --cleanup rules"),
        (AudioError("x.wav: decode: is empty (0 bytes); re-export"), "decode", False, "is empty"),
        (BatchStopped("model gone"), "recognise", True, "model gone"),
    ],
)
def test_failures_are_one_line_with_the_stage(
    tmp_path: Path, exc: BaseException, stage: str, fatal: bool, words: str
) -> None:
    message, stops = describe_failure(exc, stage, "in/x.wav", str(tmp_path))
    assert stops is fatal
    assert "\n" not in message and words in message
    if not isinstance(exc, (AudioError, BatchStopped)):
        assert message.startswith(f"in/x.wav: {stage}: ")


def test_undecodable_bytes_are_shown_escaped() -> None:
    assert display(os.fsdecode(b"caf\xe9.wav")) == "caf\\xe9.wav"
    assert display("café.wav") == "café.wav"
