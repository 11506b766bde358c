"""Which recording owns each output name in an output folder, across runs.

Discovery plans names within one batch (`discovery.plan_stems`); the output folder outlives the batch, so the
manifest remembers, per output stem, the source that wrote it. Here the two meet, before any work:

- a name another source owns moves this recording up the collision rule's levels, so `a.mp3` run after
  `a.wav` gets `a.mp3.txt`, never `a.wav`'s files, and a rerun of `a.wav` still finds its own;
- a file on a planned name that no run wrote (the user's `call.txt` beside `call.wav`, when `--output` is the
  recordings' own folder) stops the batch with one line: it is never overwritten.

A source is the same recording when its real path is the owner's, or (for an entry from before sources were
recorded) its relative path is, or its bytes are (a recording moved or renamed keeps its outputs).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from transcriber.discovery import OUTPUT_SUFFIXES, Recording, plan_stems
from transcriber.errors import ConfigError, display
from transcriber.state import Manifest, content_hash, read_state_file

#: A transcript JSON larger than this is not read to recognise it as ours (hours of words are a few MB).
_JSON_LIMIT = 64 << 20


#: Set by the host for a container run, "<container input>=<host folder>": a source is then named by the path
#: the user knows, so two host folders mounted in turn at one container path stay two sources.
INPUT_ORIGIN = "TRANSCRIBER_INPUT_ORIGIN"


def source_id(path: Path) -> str:
    """What the manifest records as a recording's source: its real path (links resolved), as the host sees it."""
    real = os.fsdecode(os.path.realpath(path))
    mounted, sep, origin = os.environ.get(INPUT_ORIGIN, "").partition("=")
    mounted = mounted.rstrip("/")
    if sep and mounted and origin and (real == mounted or real.startswith(f"{mounted}/")):
        return origin.rstrip("/") + real[len(mounted) :]
    return real


class Owners:
    """The manifest's stems by output name, and whether a recording is the source that owns one."""

    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest
        self.by_name: dict[str, str] = {
            f"{stem}.{suffix}".casefold(): stem for stem in manifest.entries for suffix in OUTPUT_SUFFIXES
        }
        self._digests: dict[Path, str] = {}

    def _digest(self, path: Path) -> str:
        if path not in self._digests:
            try:
                self._digests[path] = content_hash(path)
            except OSError:
                self._digests[path] = ""  # unreadable: decode reports it; it owns nothing by its bytes
        return self._digests[path]

    def owns(self, entry: dict[str, Any], recording: Recording) -> bool:
        return self._same_path(entry, recording) or entry["content_hash"] == self._digest(recording.path) != ""

    def kept(self, recording: Recording, planned: Path) -> Path | None:
        """The stem this recording's source wrote in an earlier run (the planned one if it owns several)."""
        own = [stem for stem, e in self.manifest.entries.items() if self._same_path(e, recording)]
        if not own:
            return None
        return planned if planned.as_posix() in own else Path(min(own))

    @staticmethod
    def _same_path(entry: dict[str, Any], recording: Recording) -> bool:
        if entry["source"]:
            return bool(entry["source"] == source_id(recording.path))
        return bool(entry["relative"] == recording.relative.as_posix())

    def taken(self, recording: Recording, name: str) -> bool:
        """Whether casefolded output `name` belongs to a source other than `recording`."""
        stem = self.by_name.get(name)
        return stem is not None and not self.owns(self.manifest.entries[stem], recording)


def _ours(output: Path, stem: str, recording: Recording) -> bool:
    """Whether `stem`'s outputs are a transcript of `recording` that a run wrote and the manifest lost (it was
    damaged and set aside): its JSON output names this recording as its source."""
    try:
        data = json.loads(read_state_file(output / f"{stem}.json", _JSON_LIMIT).decode("utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "segments" in data and data.get("source") == display(recording.relative)


def _check_foreign(output: Path, recording: Recording, owners: Owners, suffixes: list[str]) -> None:
    stem = recording.output_stem.as_posix()
    if stem in owners.manifest.entries:
        return  # the planned stem is this recording's own (planning moved it off any other source's)
    for suffix in suffixes:
        path = output / f"{stem}.{suffix}"
        if os.path.lexists(path) and not _ours(output, stem, recording):
            raise ConfigError(
                f"--output {display(output)}: {display(path)} is not a transcript this tool wrote (its manifest does "
                f"not list it), and {display(recording.relative)} would overwrite it; move it away or choose "
                "another --output"
            )


def claim(recordings: list[Recording], manifest: Manifest, output: Path, formats: tuple[str, ...]) -> list[Recording]:
    """The batch's recordings with output stems no other source owns; ConfigError if one would overwrite a file
    that no run wrote."""
    owners = Owners(manifest)
    relatives = [r.relative for r in recordings]
    kept = {i: stem for i, r in enumerate(recordings) if (stem := owners.kept(r, r.output_stem)) is not None}
    stems = plan_stems(relatives, lambda index, name: owners.taken(recordings[index], name), kept)
    claimed = [dataclasses.replace(r, output_stem=s) for r, s in zip(recordings, stems, strict=True)]
    suffixes = [*formats, OUTPUT_SUFFIXES[-1]]
    for recording in claimed:
        _check_foreign(output, recording, owners, suffixes)
    return claimed
