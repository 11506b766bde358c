"""Switching a recording's outputs, and the manifest that owns them, all at once, even across a kill -9.

A recording's outputs are a set (txt, md, srt, vtt, json, verbatim text, plus the manifest naming them); a
reader must never find half of a new set beside half of the old one. So:

1. every new file is written complete beside its final name (a synced temp file);
2. every final name that already holds a file gets a backup (a hard link, or a copy where links fail);
3. `OUT/.transcriber/journal.json` is written atomically, listing each (temp, final, backup): the commit point;
4. the temps are renamed onto their finals, then the backups and the journal are removed.

A run that dies before step 3 leaves only temp files, which the next start sweeps: the old set is whole. One
that dies after it is rolled forward by `recover` at the next start, from the temps still there (a temp
that is gone was renamed already). A rename that fails in the run (an I/O error, a folder made read-only)
rolls the set back from the backups at once; a Ctrl-C between the renames finishes them first (they take
microseconds), then stops the batch.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from transcriber import atomic
from transcriber.atomic import TEMP_SUFFIX, write_atomic
from transcriber.state import STATE_DIR, Warn, read_state_file, set_aside

JOURNAL = "journal.json"


@dataclass(frozen=True)
class _Move:
    """One rename of the set, as paths relative to the output folder (`backup` "" when the final was new)."""

    temp: str
    final: str
    backup: str


def _backup(final: Path) -> str:
    """A hard link to `final` under a temp name (so the sweep finds a stray one), or a copy where links fail."""
    while True:
        backup = final.with_name(f".{secrets.token_hex(6)}-old{TEMP_SUFFIX}")
        try:
            os.link(final, backup, follow_symlinks=False)
        except FileExistsError:
            continue
        except OSError:  # a file system without hard links (vfat, some network shares)
            shutil.copyfile(final, backup, follow_symlinks=False)
        return str(backup)


def _relative(path: str | Path, output: Path) -> str:
    return os.path.relpath(path, output)


def _inside(name: object, output: Path) -> Path:
    """`output / name`, refusing a journal entry that points outside the output folder (a hand-made journal)."""
    if not isinstance(name, str) or os.path.isabs(name) or ".." in Path(name).parts:
        raise ValueError(f"it names {name!r}, not a file in the output folder")
    return output / name


def _forward(moves: list[_Move], output: Path) -> None:
    """Rename every temp still there onto its final name; safe to repeat."""
    for move in moves:
        if os.path.lexists(output / move.temp):
            os.replace(output / move.temp, output / move.final)


def _back(moves: list[_Move], output: Path) -> None:
    """Put every old file back, remove the new files that had no old one and every unused temp; safe to repeat."""
    for move in moves:
        temp, final = output / move.temp, output / move.final
        if move.backup and os.path.lexists(output / move.backup):
            os.replace(output / move.backup, final)
        elif not move.backup and not os.path.lexists(temp):
            final.unlink(missing_ok=True)  # this new file had been renamed in
        temp.unlink(missing_ok=True)


def _close(moves: list[_Move], output: Path, journal: Path) -> None:
    for move in moves:
        if move.backup:
            (output / move.backup).unlink(missing_ok=True)
    journal.unlink(missing_ok=True)


def _write_journal(journal: Path, moves: list[_Move], direction: str) -> None:
    write_atomic(journal, json.dumps({"version": 1, "direction": direction, "moves": [asdict(m) for m in moves]}))


def switch(output: Path, items: list[tuple[Path, str | bytes]]) -> None:
    """Write `items` (paths under `output`) so that they replace what was there all at once (module docstring)."""
    journal = output / STATE_DIR / JOURNAL
    temps: list[str] = []
    backups: list[str] = []
    try:
        for path, data in items:
            temps.append(atomic.write_temp(path, data))  # through the module: tests break the disk there
        for path, _ in items:
            backups.append(_backup(path) if os.path.isfile(path) and not os.path.islink(path) else "")
        moves = [
            _Move(_relative(t, output), _relative(p, output), b and _relative(b, output))
            for t, (p, _), b in zip(temps, items, backups, strict=True)
        ]
        _write_journal(journal, moves, "forward")
    except BaseException:
        for leftover in [*temps, *backups]:
            if leftover:
                Path(leftover).unlink(missing_ok=True)
        raise
    try:
        _forward(moves, output)
    except KeyboardInterrupt:
        _forward(moves, output)  # committed: finish the set, then let the interrupt stop the batch
        _close(moves, output, journal)
        raise
    except OSError:
        _write_journal(journal, moves, "back")
        _back(moves, output)
        _close(moves, output, journal)
        raise
    _close(moves, output, journal)


def recover(output: Path, warn: Warn) -> None:
    """Finish the switch a killed run left in its journal (forward, or back if it had begun to roll back).

    Runs under the output lock, before the temp files are swept (the journal's temps are its new set).
    """
    journal = output / STATE_DIR / JOURNAL
    if not os.path.lexists(journal):
        return
    try:
        data = json.loads(read_state_file(journal).decode("utf-8"))
        direction = data["direction"]
        moves = [_Move(**m) for m in data["moves"]]
        for move in moves:
            for name in (move.temp, move.final, *([move.backup] if move.backup else [])):
                _inside(name, output)
        if direction not in ("forward", "back"):
            raise ValueError(f"it says to go {direction!r}")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        why = f"cannot be read ({exc}); a stopped run's last outputs may be mixed: rerun with --force"
        set_aside(journal, why, warn)
        return
    (_forward if direction == "forward" else _back)(moves, output)
    _close(moves, output, journal)
    done = "finished" if direction == "forward" else "undid"
    warn(f"note: {done} the switch of {len(moves)} output files that a stopped run had begun")
