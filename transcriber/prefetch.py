"""Decoding the next file while the current one is recognised, so the device never waits for PyAV.

For a folder of short voice notes, decoding (PyAV, CPU) is a real share of each file's time, and in a
plain loop the GPU sits idle during it. One background thread decodes one file ahead; both FFmpeg and
CTranslate2 release the GIL, so the two overlap. Only one file is held ahead, so memory grows by one
decoded recording at most. A file that fails to decode raises its error when its turn comes, exactly as
an inline decode would, so the batch reports it by name and goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from transcriber.audio import Audio, decode


class Prefetcher:
    """`ahead(path)` starts decoding `path` in the background; `decode(path)` returns it (or decodes inline)."""

    def __init__(self, decoder: Callable[[Path], Audio] = decode) -> None:
        self._decoder = decoder
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch")
        self._pending: dict[Path, Future[Audio]] = {}

    def ahead(self, path: Path) -> None:
        """Start decoding `path`; anything decoded ahead and never asked for is dropped, keeping one file held."""
        for stale in [p for p in self._pending if p != path]:
            self._pending.pop(stale).cancel()
        if path not in self._pending:
            self._pending[path] = self._pool.submit(self._decoder, path)

    def decode(self, path: Path) -> Audio:
        """The samples of `path`: from the background if it was started there, else decoded now."""
        future = self._pending.pop(path, None)
        return future.result() if future is not None else self._decoder(path)

    def close(self) -> None:
        for future in self._pending.values():
            future.cancel()
        self._pending.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)
