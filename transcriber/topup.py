"""Finishing a recording that is done but for some outputs: a format asked for since (`--formats` gained
html), or an output file deleted by hand. Its transcript JSON is read back and only the missing files are
written, so neither recognition nor cleanup is repeated and the other outputs stay as they are.

The formats are not part of the settings hash (the manifest lists each recording's outputs); manifests
from before the html page hashed them, and knew no `html_audio`, so their entries are matched that way too.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from transcriber.settings import settings_hash
from transcriber.transcript import Transcript


def _earlier_hash(out_key: Mapping[str, Any], outputs: list[str], stem: str) -> str:
    """The settings hash this entry would have had before the formats left the hash: formats in, html_audio out."""
    formats = sorted(name[len(stem) + 1 :] for name in outputs[:-1] if name.startswith(f"{stem}."))
    key = {k: v for k, v in out_key.items() if k != "html_audio"}
    return settings_hash({**key, "formats": formats})


def finished_transcript(
    entry: Mapping[str, Any] | None, digest: str, out_key: Mapping[str, Any], stem: str, output: Path
) -> Transcript | None:
    """The transcript of a recording the manifest says was finished from this content with these settings,
    read from its JSON output; None if there is no such entry or JSON (then the recording is redone)."""
    json_name = f"{stem}.json"
    if entry is None or entry["content_hash"] != digest or json_name not in entry["outputs"]:
        return None
    if entry["settings_hash"] not in (settings_hash(out_key), _earlier_hash(out_key, entry["outputs"], stem)):
        return None
    try:
        return Transcript.from_json((output / json_name).read_bytes().decode("utf-8"))
    except (OSError, ValueError, TypeError, KeyError):
        return None
