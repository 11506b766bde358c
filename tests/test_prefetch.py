"""Decoding one file ahead: same samples as an inline decode, in the background thread, errors raised in turn."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from tests.support.runs import RECORDINGS
from transcriber.audio import Audio, decode
from transcriber.errors import AudioError
from transcriber.prefetch import Prefetcher

MEETING = RECORDINGS / "meeting.flac"
NOTE = RECORDINGS / "notes" / "note café.ogg"


def test_decoded_ahead_in_the_background_equals_inline() -> None:
    threads: list[str] = []

    def decoder(path: Path) -> Audio:
        threads.append(threading.current_thread().name)
        return decode(path)

    prefetch = Prefetcher(decoder)
    try:
        prefetch.ahead(MEETING)
        ahead = prefetch.decode(MEETING)
        inline = prefetch.decode(NOTE)  # never asked ahead: decoded in the caller's thread
    finally:
        prefetch.close()
    assert np.array_equal(ahead.samples, decode(MEETING).samples)
    assert np.array_equal(inline.samples, decode(NOTE).samples)
    assert threads[0].startswith("prefetch") and threads[1] == threading.current_thread().name


def test_a_bad_file_fails_when_its_turn_comes(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    prefetch = Prefetcher()
    try:
        prefetch.ahead(empty)
        with pytest.raises(AudioError, match=r"empty\.wav: decode: is empty"):
            prefetch.decode(empty)
        assert len(prefetch.decode(MEETING).samples) > 0, "the next file is unaffected"
    finally:
        prefetch.close()


def test_only_one_file_is_held_ahead() -> None:
    prefetch = Prefetcher()
    try:
        prefetch.ahead(MEETING)
        prefetch.ahead(NOTE)
        assert list(prefetch._pending) == [NOTE]
    finally:
        prefetch.close()
