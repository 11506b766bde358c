"""The front door of both `transcriber` (the console script) and `python -m transcriber`.

Ctrl-C and SIGTERM are caught before anything else is imported, so an interrupt in the first fraction of a
second ends as "interrupted" (exit 130), like one later on, never as a traceback from a half-done import.
The first handler is set through `_signal` (built into the interpreter: no import time), as the `signal`
module alone takes milliseconds to import; the window left is the interpreter's own start.
"""

from __future__ import annotations

import _signal


def _early(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


_signal.signal(_signal.SIGINT, _early)
_signal.signal(_signal.SIGTERM, _early)
EXIT_INTERRUPTED_EARLY = 130  # errors.EXIT_INTERRUPTED, before errors can be imported
try:
    import contextlib
    import sys

    from transcriber.errors import EXIT_INTERRUPTED, catch_signals, exit_interrupted, interrupted
except KeyboardInterrupt:
    import sys

    print("interrupted", file=sys.stderr)
    raise SystemExit(EXIT_INTERRUPTED_EARLY) from None


def main() -> int:
    """Run the CLI with the signals caught first; the exit code (130 for Ctrl-C or SIGTERM, at any moment)."""
    try:
        catch_signals()
        from transcriber.cli import main as cli_main

        code = cli_main()
    except Exception:
        if not interrupted():
            raise
        code = _interrupted()
    except KeyboardInterrupt:
        code = _interrupted()
    return exit_interrupted() if code == EXIT_INTERRUPTED else code


def _interrupted() -> int:
    with contextlib.suppress(KeyboardInterrupt, OSError):  # a second signal, or a closed stderr: the code says it
        print("interrupted", file=sys.stderr)
    return EXIT_INTERRUPTED
