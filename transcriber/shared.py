"""What the host side (invoke tasks) and the container side (`transcriber run`) both need.

The host imports only the standard library, invoke and the docker SDK, so whatever it shares with the
heavy side lives here, standard library only: the backend names, the default ASR model per device class,
and the atomic write that both the env files and the transcripts go through.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

BACKENDS = ("pipeline", "multimodal")
#: What `--model auto` picks per device class ("cuda" stands for any GPU, ROCm included).
AUTO_MODEL = {"cuda": "large-v3-turbo", "cpu": "small"}
#: Suffix of in-flight temp files; a run that was killed leaves some, and the next run sweeps them.
TEMP_SUFFIX = ".transcriber-tmp"
#: mkstemp creates files readable by the owner alone; outputs get the usual mode, as `open` would give them.
_UMASK = os.umask(0)
os.umask(_UMASK)


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write `data` (text as UTF-8) to `path` via a temp file in the same folder and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
