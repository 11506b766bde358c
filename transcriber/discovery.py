"""Finding the recordings under an input folder and naming their outputs.

Recursive and symlink-loop safe (each real folder is visited once); hidden files and folders and the
output folder itself are skipped, and a folder that cannot be listed is reported, never skipped silently.
Outputs mirror the input tree, `OUT/<relative dir>/<stem>.<fmt>`. Names are planned for the whole batch
before anything is written, so no two recordings can share an output file (see `plan_stems`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from transcriber.errors import ConfigError, display
from transcriber.probe import NOT_MEDIA, not_a_recording
from transcriber.writers import FORMATS, VerbatimWriter

AUDIO_EXTENSIONS = frozenset(
    ".wav .wave .flac .mp3 .m4a .aac .ogg .oga .opus .webm .mp4 .m4v .mkv .mov .wma .aiff .aif .amr .3gp .avi "
    ".mpeg .mpg .ts .caf .ac3 .mka .wmv .asf .mts .m2ts .m4b .3g2 .flv .vob .mxf .mp2 .spx .wv .ape .tta .au "
    ".aifc .eac3 .dts .gsm .voc .w64 .rf64".split()
)
#: Every suffix an output may get, whatever --formats says, so names do not change with the formats.
OUTPUT_SUFFIXES = (*FORMATS, VerbatimWriter.extension)
#: The batch's own page at the output root (`transcriber.output_index`); no recording's output may take its name.
INDEX_NAME = "index.html"
#: Bytes a file name may have on Linux file systems (ext4, xfs, btrfs, tmpfs); outputs are cut to fit.
NAME_MAX = 255
_LONGEST_SUFFIX = max(len(s) for s in OUTPUT_SUFFIXES) + 1
_HASH_CHARS = 8


@dataclass(frozen=True)
class Recording:
    """One input file: where it is, and the output path stem relative to the output folder."""

    path: Path
    relative: Path
    output_stem: Path


def _is_audio_name(name: str) -> bool:
    return Path(name).suffix.lower() in AUDIO_EXTENSIONS


def _is_candidate(path: Path, ignored: list[tuple[Path, str]]) -> bool:
    """A recording by its suffix, or (a suffix that is not plainly something else) by what FFmpeg finds in it."""
    if _is_audio_name(path.name):
        return True
    if path.suffix.lower() in NOT_MEDIA:
        return False
    reason = not_a_recording(path)
    if reason is not None:
        ignored.append((path, reason))
    return reason is None


def _inside_output(folder: Path, ignored: list[tuple[Path, str]]) -> None:
    """Recordings under the output folder (inside the input) are not transcribed: list them, don't lose them."""
    for here, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if _is_audio_name(name) and not name.startswith("."):
                ignored.append((Path(here) / name, "inside the --output folder, which is never read as input"))


def _walk(root: Path, skip: Path | None, unreadable: list[OSError], ignored: list[tuple[Path, str]]) -> list[Path]:
    found: list[Path] = []
    seen: set[tuple[int, int]] = set()
    for folder, dirs, files in os.walk(root, followlinks=True, onerror=unreadable.append):
        here = Path(folder)
        try:
            info = here.stat()
        except OSError:
            dirs[:] = []
            continue
        if (info.st_dev, info.st_ino) in seen or (skip is not None and here.resolve() == skip):
            if (info.st_dev, info.st_ino) not in seen:
                _inside_output(here, ignored)
            dirs[:] = []
            continue
        seen.add((info.st_dev, info.st_ino))
        keep = []
        for d in sorted(dirs):
            if d.startswith("."):
                continue
            if _is_audio_name(d):
                found.append(here / d)  # reported as a failure by the decoder, not walked into
            else:
                keep.append(d)
        dirs[:] = keep
        found.extend(here / f for f in sorted(files) if not f.startswith(".") and _is_candidate(here / f, ignored))
    return sorted(found)


def _path_hash(relative: Path) -> str:
    return hashlib.sha256(os.fsencode(relative)).hexdigest()[:_HASH_CHARS]


def _fit(stem: Path, relative: Path) -> Path:
    """`stem`, its last part cut (at a character) with a hash suffix if an output name would pass NAME_MAX."""
    limit = NAME_MAX - _LONGEST_SUFFIX
    if len(os.fsencode(stem.name)) <= limit:
        return stem
    kept, used = [], 0
    for char in stem.name:
        used += len(os.fsencode(char))
        if used > limit - _HASH_CHARS - 1:
            break
        kept.append(char)
    return stem.with_name(f"{''.join(kept)}~{_path_hash(relative)}")


#: Levels past the path hash (`name~hash-2`, `-3`, ...) for recordings whose plainer names other sources own.
MAX_LEVEL = 50
#: Whether output name (casefolded) is taken for the recording at an index, by a source outside the batch.
Taken = Callable[[int, str], bool]


def _candidate(relative: Path, level: int) -> Path:
    """Level 0: the name without its extension; 1: the whole name; 2: the whole name plus a path hash; 3 and
    on: that plus a counter (only names other runs' sources own push a recording that far)."""
    stem = relative.with_suffix("") if level == 0 else relative
    if level >= 2:
        counter = f"-{level - 1}" if level > 2 else ""
        stem = relative.with_name(f"{relative.name}~{_path_hash(relative)}{counter}")
    return _fit(stem, relative)


def plan_stems(relatives: list[Path], taken: Taken | None = None, kept: dict[int, Path] | None = None) -> list[Path]:
    """Output stems for the whole batch, decided before any write, such that no output names coincide.

    Each recording starts at its name without the extension. Where any output of two recordings would
    share a name (compared ignoring case, so a case-insensitive disk is safe too), or an output would be a
    folder the tree needs, those involved on the plainest names move up a level (`_candidate`): `a.wav` and
    `a.mp3` give `a.wav.txt` and `a.mp3.txt`, and then `a.wav.mp3` gives `a.wav.mp3.txt`; `memo.wav` beside
    `memo.verbatim.wav` gives `memo.wav.verbatim.txt` and `memo.verbatim.wav.txt`. The result depends only on
    the set of inputs, not their order, so reruns find the same names. Across runs (`transcriber.ownership`):
    a recording one of whose names is `taken` by another source moves up alone, and one with a `kept` stem
    (its own from an earlier run) stays on it, the others moving around it. `index.html` at the root is the
    batch's own (`INDEX_NAME`).
    """
    kept = kept or {}
    folders = {p.as_posix().casefold() for r in relatives for p in r.parents} | {INDEX_NAME}
    levels = [0] * len(relatives)
    while True:
        owners: dict[str, set[int]] = {}
        moving = set()
        stems = [kept.get(i) or _candidate(r, levels[i]) for i, r in enumerate(relatives)]
        for index, stem in enumerate(stems):
            for suffix in OUTPUT_SUFFIXES:
                name = f"{stem.as_posix()}.{suffix}".casefold()
                owners.setdefault(name, set()).add(index)
                if taken is not None and index not in kept and taken(index, name):
                    moving.add(index)
        for name, ids in owners.items():
            free = ids - kept.keys()
            if free and (len(ids) > 1 or name in folders):  # of those involved, the ones on the plainest names move up
                lowest = min(levels[i] for i in free)
                moving |= {i for i in free if levels[i] == lowest}
        if not moving:
            return stems
        if any(levels[i] == (MAX_LEVEL if taken else 2) for i in moving):
            raise ConfigError(f"cannot give {relatives[min(moving)]} an output name of its own; rename it")
        for index in moving:
            levels[index] += 1


def discover(
    input_path: Path, output_dir: Path, unreadable: list[OSError] | None = None,
    ignored: list[tuple[Path, str]] | None = None,
) -> list[Recording]:  # fmt: skip
    """Every recording under `input_path` (a folder or one file), with its output stem.

    Folders that could not be listed are appended to `unreadable` (their OSError), for the batch to report;
    files that are not recordings FFmpeg can read (unless plainly not media), and recordings inside the
    output folder, to `ignored` with the reason, for the summary to list.
    """
    if not input_path.exists():
        raise ConfigError(f"--input {input_path} does not exist; give a folder of recordings or one file")
    if input_path.is_dir() and input_path.resolve() == output_dir.resolve():
        raise ConfigError(
            f"--input and --output are the same folder ({display(input_path)}); transcripts would mix with the "
            "recordings: give --output a folder of its own"
        )
    if input_path.is_dir():
        lost = [] if unreadable is None else unreadable
        root, paths = input_path, _walk(input_path, output_dir.resolve(), lost, [] if ignored is None else ignored)
    else:
        root, paths = input_path.parent, [input_path]
    relatives = [p.relative_to(root) for p in paths]
    return [
        Recording(path=p, relative=r, output_stem=s)
        for p, r, s in zip(paths, relatives, plan_stems(relatives), strict=True)
    ]
