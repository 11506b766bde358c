"""`index.html` at the output root: every recording of the folder with its status, rewritten as each file
finishes, so reloading it shows a running batch's progress.

Its rows are kept in `OUT/.transcriber/index.json` (so a rerun that skips finished files still lists them);
both files are written together, atomically. A row says done or failed (with the failure's one line), and
for a done file its duration, speakers, number of review flags and a link to its page. The index is a
view, never state a rerun depends on: if it cannot be written, the batch says so once and goes on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from transcriber.atomic import write_all_atomic
from transcriber.discovery import INDEX_NAME, Recording
from transcriber.errors import display
from transcriber.page.render import fill, script_json, template
from transcriber.state import STATE_DIR
from transcriber.transcript import Transcript


def _summary(transcript: Transcript) -> dict[str, Any]:
    return {
        "duration": round(transcript.duration, 1),
        "speakers": len(transcript.speakers),
        "flags": len(transcript.flags),
    }


class PageIndex:
    """The rows of `OUT/index.html` and the writing of it; `update` once per finished, skipped or failed file."""

    def __init__(self, output: Path, formats: tuple[str, ...], warn: Callable[[str], None]) -> None:
        self.output, self.formats, self.warn = output, formats, warn
        self.state = output / STATE_DIR / "index.json"
        self.rows: dict[str, dict[str, Any]] = {}
        self.broken = False
        try:
            rows = json.loads(self.state.read_text(encoding="utf-8", errors="surrogateescape"))["rows"]
            self.rows = {row["name"]: row for row in rows if isinstance(row, dict) and isinstance(row.get("name"), str)}
        except (OSError, ValueError, KeyError, TypeError):
            pass  # no index yet, or one that cannot be read: rows come back as files finish

    def _link(self, recording: Recording) -> str:
        return quote(f"{recording.output_stem.as_posix()}.html".encode("utf-8", "surrogateescape"))

    def _known(self, recording: Recording) -> dict[str, Any]:
        """Duration, speakers and flags of a file finished by an earlier run: its row, else its JSON output."""
        row = self.rows.get(recording.relative.as_posix())
        if row and row.get("status") == "done":
            return {k: row.get(k) for k in ("duration", "speakers", "flags")}
        try:
            text = (self.output / f"{recording.output_stem.as_posix()}.json").read_text(encoding="utf-8")
            return _summary(Transcript.from_json(text))
        except (OSError, ValueError, KeyError, TypeError):
            return {"duration": None, "speakers": None, "flags": None}

    def update(self, recording: Recording, transcript: Transcript | None = None, reason: str = "") -> None:
        """Record that `recording` is done (`transcript`: written now; None: skipped as done) or failed
        (`reason`), and rewrite the index; a skip that changes nothing writes nothing, and without the html
        format (`--formats txt,json`) there is no index."""
        if "html" not in self.formats:
            return
        name = recording.relative.as_posix()
        if reason:
            row: dict[str, Any] = {"status": "failed", "reason": reason, "duration": None, "speakers": None,
                                   "flags": None}  # fmt: skip
        else:
            row = {"status": "done", "reason": "", **(_summary(transcript) if transcript else self._known(recording))}
        row = {"name": name, **row, "page": self._link(recording) if not reason else ""}
        if transcript is None and not reason and row == self.rows.get(name):
            return
        self.rows[name] = row
        self._write()

    def _write(self) -> None:
        rows = [self.rows[name] for name in sorted(self.rows)]
        shown = [{**row, "name": display(row["name"])} for row in rows]
        page = fill(template("index.html"), {"data": script_json({"rows": shown})})
        try:
            write_all_atomic([(self.state, json.dumps({"version": 1, "rows": rows}, indent=1)),
                              (self.output / INDEX_NAME, page)])  # fmt: skip
        except OSError as exc:
            if not self.broken:
                self.warn(f"warning: {display(self.output / INDEX_NAME)}: cannot be written ({exc}); the batch goes on")
            self.broken = True
