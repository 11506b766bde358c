"""Finding the recordings under an input folder and naming their outputs.

Recursive and symlink-loop safe (each real folder is visited once); hidden files and folders and the
output folder itself are skipped. Outputs mirror the input tree, `OUT/<relative dir>/<stem>.<fmt>`;
two recordings that share a stem in one folder (`a.wav`, `a.mp3`) keep their extension in the output
name so neither overwrites the other.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from transcriber.errors import ConfigError

AUDIO_EXTENSIONS = frozenset(
    ".wav .wave .flac .mp3 .m4a .aac .ogg .oga .opus .webm .mp4 .m4v .mkv .mov .wma .aiff .aif .amr .3gp .avi "
    ".mpeg .mpg .ts .caf .ac3".split()
)


@dataclass(frozen=True)
class Recording:
    """One input file: where it is, and the output path stem relative to the output folder."""

    path: Path
    relative: Path
    output_stem: Path


def _is_audio_name(name: str) -> bool:
    return Path(name).suffix.lower() in AUDIO_EXTENSIONS


def _walk(root: Path, skip: Path | None) -> list[Path]:
    found: list[Path] = []
    seen: set[tuple[int, int]] = set()
    for folder, dirs, files in os.walk(root, followlinks=True):
        here = Path(folder)
        try:
            info = here.stat()
        except OSError:
            dirs[:] = []
            continue
        if (info.st_dev, info.st_ino) in seen or (skip is not None and here.resolve() == skip):
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
        found.extend(here / f for f in sorted(files) if not f.startswith(".") and _is_audio_name(f))
    return sorted(found)


def discover(input_path: Path, output_dir: Path) -> list[Recording]:
    """Every recording under `input_path` (a folder or one file), with its output stem."""
    if not input_path.exists():
        raise ConfigError(f"--input {input_path} does not exist; give a folder of recordings or one file")
    if input_path.is_file():
        root, paths = input_path.parent, [input_path]
    else:
        root, paths = input_path, _walk(input_path, output_dir.resolve())
    relatives = [p.relative_to(root) for p in paths]
    stems = Counter(r.with_suffix("") for r in relatives)
    return [
        Recording(path=p, relative=r, output_stem=r.with_suffix("") if stems[r.with_suffix("")] == 1 else r)
        for p, r in zip(paths, relatives, strict=True)
    ]
