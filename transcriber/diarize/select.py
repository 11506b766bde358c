"""Which diarizer a run uses, decided before any model loads so the settings hash names the real one.

`auto` takes pyannote when pyannote.audio is installed and its weights are on this machine, else the
embedding diarizer, and says why; asking for `pyannote` (or giving its folder) without either is a usage
error that says how to get them, never a silent download.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from transcriber.diarize import Diarizer
from transcriber.diarize.pyannote import PYANNOTE_REPO, cached_pipeline
from transcriber.errors import ConfigError
from transcriber.extras import require

FETCH_PYANNOTE = (
    f"fetch it once where the Hub is reachable (HF_TOKEN=... huggingface-cli download {PYANNOTE_REPO}, after "
    "accepting its terms) into HF_HOME, or give its folder as --diarizer DIR"
)
INSTALL_PYANNOTE = "pip install pyannote.audio (with your platform's torch already installed)"


@dataclass(frozen=True)
class Choice:
    """The diarizer to build: `kind` is "embedding" or "pyannote" (with the weights `folder`)."""

    kind: str
    folder: Path | None = None
    note: str = ""

    @property
    def key(self) -> str:
        """What the settings hash records: the kind and, for pyannote, which weights."""
        return self.kind if self.folder is None else f"{self.kind}:{self.folder.name}"


def choose(requested: str, pyannote_installed: bool, cached: Path | None) -> Choice:
    """`requested` is auto, embedding, pyannote or a pipeline folder; `cached` is the cached snapshot if any."""
    if requested == "embedding":
        return Choice("embedding", note="speakers: embedding diarizer (Silero VAD + resemblyzer GE2E)")
    explicit = requested not in ("auto", "pyannote")
    folder = Path(requested).expanduser() if explicit else cached
    if explicit and not (Path(requested).expanduser() / "config.yaml").is_file():
        raise ConfigError(f"--diarizer {requested}: no config.yaml there; give a pyannote pipeline folder")
    if folder is not None and pyannote_installed:
        return Choice("pyannote", folder, f"speakers: pyannote diarizer ({folder})")
    if requested == "auto":
        why = "pyannote.audio is not installed" if folder is not None else f"{PYANNOTE_REPO} is not cached"
        return Choice("embedding", note=f"speakers: embedding diarizer (Silero VAD + resemblyzer GE2E); {why}")
    if not pyannote_installed:
        raise ConfigError(f"--diarizer {requested} needs pyannote.audio, which is not installed: {INSTALL_PYANNOTE}")
    raise ConfigError(f"--diarizer pyannote: {PYANNOTE_REPO} is not in the model cache; {FETCH_PYANNOTE}")


def choose_here(requested: str) -> Choice:
    """`choose` with what this machine has; both diarizers run on torch, so without it the run is refused
    here, before its first file."""
    require("diarize", "--speakers", "torch", instead="run with --speakers off")
    installed = importlib.util.find_spec("pyannote") is not None and importlib.util.find_spec("pyannote.audio")
    return choose(requested, bool(installed), cached_pipeline() if requested in ("auto", "pyannote") else None)


def build(choice: Choice, speakers: int | None, device: str) -> Diarizer:
    """The diarizer for `choice`; heavy imports happen here, only when a file really needs diarizing."""
    if choice.kind == "pyannote" and choice.folder is not None:
        from transcriber.diarize.pyannote import PyannoteDiarizer

        return PyannoteDiarizer(choice.folder, speakers, device)
    from transcriber.diarize.embedding import EmbeddingDiarizer

    return EmbeddingDiarizer(speakers, "cpu" if device == "cpu" else _torch_device())


def _torch_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
