"""Errors a user can cause, and the exit codes the CLI maps them to.

Anything a user can fix (a bad flag, a missing model while offline, a locked output folder) is a
`TranscriberError` whose message says what to do; the CLI prints it in one line, without a traceback.
Tracebacks are kept for bugs.
"""

from __future__ import annotations

import errno
import os
import signal
from types import FrameType

#: Every file was transcribed (or skipped because it was already done).
EXIT_OK = 0
#: The batch finished, but at least one file failed; each failure was reported by name.
EXIT_FILES_FAILED = 1
#: Nothing ran: a flag, setting, path or model was wrong, or another run holds the output folder.
EXIT_USAGE = 2
#: Interrupted by Ctrl-C or SIGTERM; finished files are kept and a rerun resumes.
EXIT_INTERRUPTED = 130
#: A watcher whose input folder was deleted while mounted (a container's): a restart mounts the new one.
EXIT_REMOUNT = 75


class TranscriberError(Exception):
    """A problem the user can fix; the message names the thing and the fix."""

    exit_code = EXIT_USAGE


class ConfigError(TranscriberError):
    """A setting (flag, environment variable or env file) has a value that cannot be used."""


class ModelNotFoundError(TranscriberError):
    """A model is neither cached nor downloadable (offline, or an unknown name)."""


class OutputLockedError(TranscriberError):
    """Another run is writing to the same output folder."""


class AudioError(TranscriberError):
    """One input file cannot be decoded; the batch reports it and goes on."""

    exit_code = EXIT_FILES_FAILED


class BatchStopped(TranscriberError):
    """A condition that dooms every later file (disk full, output not writable, GPU lost): stop at once."""

    exit_code = EXIT_FILES_FAILED


#: OSError numbers that mean no later file can be written either.
_FATAL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}
#: Phrases CUDA/ROCm runtimes use when the device itself is gone, not just one input too big for it.
_DEVICE_LOST = (
    "device lost",
    "devicelost",
    "illegal memory access",
    "unspecified launch failure",
    "device-side assert",
    "no cuda-capable device",
    "uncorrectable ecc",
    "hiperrornodevice",
    "hip error: no device",
    "gpu is lost",
    "cuda driver version is insufficient",
)
_ADVICE = {
    "decode": "check that the file is a complete, readable recording",
    "recognise": "try a smaller --model or --batch-size 1; rerun with --debug for a traceback",
    "diarize": "try --speakers off or --diarizer embedding; rerun with --debug for a traceback",
    "clean": "try --cleanup rules; rerun with --debug for a traceback",
    "write": "check the output folder (space, permissions)",
}


#: Control characters in a name (a newline, an escape that recolours the terminal) shown as escapes.
_CONTROL = {code: f"\\x{code:02x}" for code in [*range(0x20), 0x7F]} | {0x0A: "\\n", 0x09: "\\t", 0x0D: "\\r"}


def display(name: str | os.PathLike[str]) -> str:
    """A name as text that can always be printed or written as UTF-8 on one line: undecodable bytes become
    \\xNN, and control characters (newlines, terminal escapes) their backslash escapes."""
    return os.fsencode(name).decode("utf-8", "backslashreplace").translate(_CONTROL)


def unwritable(path: str | os.PathLike[str]) -> OSError:
    """Why a folder cannot be written, in the words the fix needs: a read-only file system is not a permission."""
    try:
        read_only = bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        read_only = False
    code = errno.EROFS if read_only else errno.EACCES
    return OSError(code, os.strerror(code), os.fspath(path))


def _out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, MemoryError) or "out of memory" in str(exc).lower()


def device_lost(exc: BaseException) -> bool:
    """True for the runtime errors after which the GPU serves no later file either."""
    text = f"{type(exc).__name__}: {exc}".lower()
    return any(marker in text for marker in _DEVICE_LOST)


def describe_failure(exc: BaseException, stage: str, recording: str, output: str) -> tuple[str, bool]:
    """(one-line message naming the recording, the stage and the fix; whether the whole batch must stop)."""
    if isinstance(exc, TranscriberError):
        return str(exc), isinstance(exc, BatchStopped)
    if isinstance(exc, OSError) and exc.errno in _FATAL_ERRNOS:
        fix = "make it writable" if exc.errno == errno.EROFS else "free some space"
        return f"{recording}: {stage}: {output}: {exc.strerror}; {fix} or choose another --output, then rerun", True
    if isinstance(exc, OSError) and stage == "write" and exc.errno in {errno.EACCES, errno.EPERM}:
        fatal = not os.access(output, os.W_OK | os.X_OK)
        where = output if fatal else display(exc.filename or output)
        return f"{recording}: write: {where}: {exc.strerror}; make it writable or choose another --output", fatal
    detail = " ".join(str(exc).split())[:300] or "no message"
    if device_lost(exc):
        return f"{recording}: {stage}: the GPU stopped responding ({detail}); check the device, then rerun", True
    if _out_of_memory(exc):
        return f"{recording}: {stage}: out of memory; {_ADVICE[stage]}", False
    if isinstance(exc, OSError):
        target = display(exc.filename) if exc.filename else recording
        where = "" if target == recording else f"{target}: "
        return f"{recording}: {stage}: {where}{exc.strerror or detail}; {_ADVICE[stage]}", False
    return f"{recording}: {stage}: {type(exc).__name__}: {detail}; {_ADVICE[stage]}", False


_interrupted = False


def _on_signal(signum: int, frame: FrameType | None) -> None:
    global _interrupted
    _interrupted = True
    raise KeyboardInterrupt


def exit_interrupted() -> int:
    """EXIT_INTERRUPTED, made to stick. CPython remembers a KeyboardInterrupt that escaped code run through
    `PyRun_String` (C extensions run some while they import), and at exit kills itself with SIGINT in place
    of the exit code asked for; running one empty statement that way clears the memory."""
    import ctypes

    ctypes.pythonapi.PyRun_SimpleString(b"pass")
    return EXIT_INTERRUPTED


def catch_signals() -> None:
    """Ctrl-C and SIGTERM become KeyboardInterrupt, and are remembered: an import or a library that turns
    the KeyboardInterrupt into another error (ImportError, RuntimeError) still ends as "interrupted", 130."""
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)


def interrupted() -> bool:
    return _interrupted
