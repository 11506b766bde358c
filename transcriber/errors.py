"""Errors a user can cause, and the exit codes the CLI maps them to.

Anything a user can fix (a bad flag, a missing model while offline, a locked output folder) is a
`TranscriberError` whose message says what to do; the CLI prints it in one line, without a traceback.
Tracebacks are kept for bugs.
"""

from __future__ import annotations

#: Every file was transcribed (or skipped because it was already done).
EXIT_OK = 0
#: The batch finished, but at least one file failed; each failure was reported by name.
EXIT_FILES_FAILED = 1
#: Nothing ran: a flag, setting, path or model was wrong, or another run holds the output folder.
EXIT_USAGE = 2
#: Interrupted by Ctrl-C or SIGTERM; finished files are kept and a rerun resumes.
EXIT_INTERRUPTED = 130


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
