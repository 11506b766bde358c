"""What, besides the settings, decides whether an earlier result still holds: code version, lexicons, models.

These go into the settings hashes, so upgrading the package, changing a cleanup word list or replacing a
model's files makes a rerun redo the work instead of skipping it with stale results.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path

#: Files at least this big are identified by size and modification time instead of being read in full
#: (a 3 GB model.bin would cost seconds per run); the Hugging Face cache names each blob by its hash anyway.
_HASH_WHOLE_BELOW = 16 << 20


def _file_id(path: Path) -> str:
    if path.is_symlink():  # Hugging Face cache: snapshots/<revision>/<file> -> ../../blobs/<sha256>
        return Path(os.readlink(path)).name
    info = path.stat()
    if info.st_size >= _HASH_WHOLE_BELOW:
        return f"{info.st_size}:{info.st_mtime_ns}"
    return hashlib.sha256(path.read_bytes()).hexdigest()


def model_fingerprint(location: Path | None) -> str:
    """A short hash of a model's files (names and contents): a folder's, or one file's (a .gguf, whose folder
    may hold anything else, such as a package's bytecode); "" when there is no local copy."""
    if location is None or not location.exists():
        return ""
    folder = location.parent if location.is_file() else location
    files = [location] if location.is_file() else sorted(p for p in location.rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for path in files:
        digest.update(os.fsencode(path.relative_to(folder)) + b"\0" + _file_id(path).encode() + b"\0")
    return digest.hexdigest()[:16]


def llm_fingerprint(name: str) -> str:
    """The cleanup LLM's `model_fingerprint`, found (downloaded if need be, so a missing model fails before any
    file) the way the cleanup stage will load it: a folder, a snapshot in the cache, or a bundled .gguf."""
    from transcriber.catalog import resolve_llm

    source = resolve_llm(name)
    return model_fingerprint(source.folder / source.gguf_file if source.gguf_file else source.folder)


def lexicon_fingerprint() -> str:
    """A short hash of the rules cleanup's word lists, which change the clean text. The function words are left
    out: only `text_language` reads them, and a change to them must not rewrite every earlier output."""
    from transcriber.cleanup.lexicon import LEXICONS

    # Sets are sorted: their iteration order changes from one process to the next (string hash seeds).
    data = {code: asdict(lexicon) for code, lexicon in LEXICONS.items()}
    for lists in data.values():
        del lists["function_words"]
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=sorted).encode()).hexdigest()[:16]
