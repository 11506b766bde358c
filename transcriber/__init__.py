"""transcriber: folders of recordings in, clean and verbatim transcripts out.

The Python API, the same run as `transcriber run` without the command line::

    from pathlib import Path
    from transcriber import Transcript, transcribe_folder

    summary = transcribe_folder("recordings", "transcripts", model="tiny.en", cleanup="rules")
    print(summary.render())                      # the closing lines `transcriber run` prints
    meeting = Transcript.from_json(Path("transcripts/meeting.json").read_text())
    print(meeting.clean_text)

`transcribe_folder(input, output, **settings)` takes every setting of `transcriber run` as a keyword, named
as the fields of `Settings` (model, device, language, cleanup, speakers, formats, ...), and returns the
`Summary`; `load_settings` checks a mapping of them as the CLI does. The names below are imported when first
used, so `import transcriber` stays as light as the host side (invoke tasks) needs.
"""

from __future__ import annotations

import importlib

from transcriber.version import __version__

#: Not `typing.TYPE_CHECKING`: importing typing takes milliseconds before `transcriber.launch` (imported after
#: this package) catches Ctrl-C, and an interrupt then showed a traceback instead of "interrupted".
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Settings", "Summary", "Transcript", "__version__", "load_settings", "transcribe_folder"]

#: Where each public name lives.
_HOMES = {
    "transcribe_folder": "transcriber.api",
    "Summary": "transcriber.summary",
    "Settings": "transcriber.settings",
    "load_settings": "transcriber.settings",
    "Transcript": "transcriber.transcript",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'transcriber' has no attribute {name!r}")
