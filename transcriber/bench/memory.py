"""Peak memory while a block runs: process RSS from /proc, and GPU memory in use where torch sees a GPU.

Sampled from a thread, because the process-wide ru_maxrss only ever grows and so cannot tell one
configuration's peak from the one before it in the same process. GPU use is read device-wide
(`torch.cuda.mem_get_info`), which also counts CTranslate2's allocations that torch's own counters miss.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from types import TracebackType

_INTERVAL = 0.02


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _gpu_used_gb() -> float | None:
    """Device-wide GPU memory in use, if torch is loaded (never imported here: that is the engines' choice)."""
    cuda = getattr(sys.modules.get("torch"), "cuda", None)  # None while torch is still being imported
    try:
        if cuda is None or not cuda.is_available():
            return None
        free, total = cuda.mem_get_info()
    except (RuntimeError, AttributeError):
        return None
    return (total - free) / 2**30


class PeakMemory:
    """`with PeakMemory() as peak:` ... then `peak.rss_mb` and `peak.vram_gb` (None without a GPU)."""

    def __init__(self) -> None:
        self.rss_mb = 0.0
        self.vram_gb: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        self.rss_mb = max(self.rss_mb, _rss_mb())
        used = _gpu_used_gb()
        if used is not None:
            self.vram_gb = max(self.vram_gb or 0.0, used)

    def _run(self) -> None:
        while not self._stop.wait(_INTERVAL):
            self._sample()

    def __enter__(self) -> PeakMemory:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
