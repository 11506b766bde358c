"""`--cleanup auto`: the LLM stage where a GPU can hold the cleanup model on its own, the rules elsewhere.

A batch frees the speech model before cleanup starts, so the cleanup model only has to fit the GPU by
itself; the free memory is read before anything loads, so a GPU another program fills does not count.
On the CPU the LLM stage takes minutes per hour of audio for a small gain, so auto keeps to the rules
there; `--cleanup llm` still asks for it anywhere.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Callable

from transcriber import vram
from transcriber.catalog import DEFAULT_LLM, LLM_CATALOG, resolve_llm
from transcriber.errors import ModelNotFoundError
from transcriber.extras import install_hint
from transcriber.settings import Settings


def choose_cleanup(free_gb: float | None, model: str, extras: set[str], local: bool, offline_: bool) -> tuple[str, str]:
    """("llm" or "rules", why) from what this machine has; the facts are passed in, so each rule is testable."""
    if "transformers" not in extras:
        return "rules", f"the LLM stage is not installed ({install_hint('llm')})"
    if free_gb is None:
        return "rules", "no GPU; --cleanup llm runs the LLM on the CPU, slowly"
    info = LLM_CATALOG.get(model)
    if info is not None:
        budget = vram.usable_gb(free_gb)
        if info.vram_4bit > budget:
            return "rules", f"{model} needs {info.vram_4bit} GB even in 4-bit; the GPU has {free_gb:.1f} GB free"
        if info.vram_bf16 > budget and "bitsandbytes" not in extras:
            return "rules", f"{model} fits only quantised, and bitsandbytes is not installed"
    if offline_ and not local:
        return "rules", f"{model} is not in the Hugging Face cache and HF_HUB_OFFLINE is set"
    return "llm", f"{model} fits the GPU's {free_gb:.1f} GB free on its own"


def resolve_cleanup(settings: Settings, note: Callable[[str], None]) -> Settings:
    """The settings with `cleanup=auto` made concrete, and a note saying which stage was chosen and why."""
    if settings.cleanup != "auto":
        return settings
    model = DEFAULT_LLM if settings.cleanup_model == "auto" else settings.cleanup_model
    extras = {m for m in ("transformers", "accelerate", "bitsandbytes") if importlib.util.find_spec(m) is not None}
    if "accelerate" not in extras or importlib.util.find_spec("torch") is None:
        extras.discard("transformers")
    free = None if settings.device == "cpu" else vram.free_gb()
    try:
        resolve_llm(model, download=False)  # a folder, the HF cache or a bundled copy
        local = True
    except ModelNotFoundError:
        local = False
    from huggingface_hub import constants

    chosen, why = choose_cleanup(free, model, extras, local, constants.HF_HUB_OFFLINE)
    note(f"--cleanup auto chose {chosen}: {why}")
    return dataclasses.replace(settings, cleanup=chosen)
