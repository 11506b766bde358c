"""`python -m transcriber` runs the same CLI as the `transcriber` console script.

Ctrl-C and SIGTERM are caught before the CLI's imports, so an interrupt in the first fraction of a second
ends as "interrupted" (exit 130), like one later on, not as a traceback from a half-done import.
"""

import sys

from transcriber.errors import EXIT_INTERRUPTED, catch_signals, exit_interrupted, interrupted

catch_signals()
try:
    from transcriber.cli import main

    code = main()
except Exception:
    if not interrupted():
        raise
    print("interrupted", file=sys.stderr)
    code = EXIT_INTERRUPTED
except KeyboardInterrupt:
    print("interrupted", file=sys.stderr)
    code = EXIT_INTERRUPTED
raise SystemExit(exit_interrupted() if code == EXIT_INTERRUPTED else code)
