"""Run settings from one place: CLI flags over `TRANSCRIBER_*` environment variables over defaults.

Each value is validated once, here, and a bad one is a `ConfigError` naming where it came from (the flag
or the variable) and what is allowed. The hashes decide what a rerun must redo: `asr_key` covers what
changes the recognised text, `output_key` adds what changes the written files.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from transcriber.errors import ConfigError
from transcriber.writers import FORMATS

DEVICES = ("auto", "cpu", "cuda")
COMPUTE_TYPES = (
    "auto",
    "default",
    "int8",
    "int8_float16",
    "int8_bfloat16",
    "int8_float32",
    "int16",
    "float16",
    "bfloat16",
    "float32",
)
BACKENDS = ("pipeline", "multimodal", "seamless")
CLEANUPS = ("none", "rules", "llm")
CLEANUP_MODES = ("delete", "rewrite")
LLM_QUANTS = ("auto", "none", "8bit", "4bit")
DEFAULT_FORMATS = ("txt", "md", "srt", "vtt", "json")
AUTO_MODEL = {"cuda": "large-v3-turbo", "cpu": "small"}


@dataclass(frozen=True)
class Settings:
    """Everything one `transcriber run` needs; built by `load_settings`, never by hand in the CLI."""

    input: Path
    output: Path
    formats: tuple[str, ...] = DEFAULT_FORMATS
    backend: str = "pipeline"
    model: str = "auto"
    multimodal_verbatim: bool = False
    vram: float | None = None
    device: str = "auto"
    compute_type: str = "auto"
    language: str = "auto"
    translate_to: str = ""
    cleanup: str = "rules"
    cleanup_model: str = "auto"
    cleanup_mode: str = "delete"
    llm_quant: str = "auto"
    batch_size: int | str = "auto"
    beam_size: int = 5
    vad: bool = True
    force: bool = False
    quiet: bool = False

    def asr_key(self, model: str, device: str, compute_type: str, batch_size: int = 1) -> dict[str, Any]:
        """What changes the verbatim transcript; `model`/`device`/`compute_type`/`batch_size` are resolved values."""
        key = {
            "backend": self.backend,
            "multimodal_verbatim": self.multimodal_verbatim,
            "model": model,
            "compute_type": compute_type,
            "device": device,
            "language": self.language,
            "beam_size": self.beam_size,
            "batch_size": batch_size,
            "vad": self.vad,
        }
        return key | {"translate_to": self.translate_to} if self.translate_to else key

    def output_key(self, asr_key: Mapping[str, Any]) -> dict[str, Any]:
        """What changes the written files: the ASR key plus cleanup (and its LLM) and formats."""
        key = {**asr_key, "cleanup": self.cleanup, "formats": sorted(self.formats)}
        if self.cleanup == "llm":
            key |= {"cleanup_model": self.cleanup_model, "cleanup_mode": self.cleanup_mode, "llm_quant": self.llm_quant}
        return key


def settings_hash(key: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def _choice(value: str, allowed: tuple[str, ...], where: str) -> str:
    if value not in allowed:
        raise ConfigError(f"{where}={value!r} is not one of: {', '.join(allowed)}")
    return value


def _positive(kind: type[int] | type[float], rule: str) -> Callable[[Any, str], Any]:
    """A check that `value` reads as a `kind` of at least 1 (int) or above 0 (float); `rule` says so on error."""

    def check(value: Any, where: str) -> Any:
        try:
            number = kind(value)
        except (TypeError, ValueError):
            number = kind(0)
        if number <= 0:
            raise ConfigError(f"{where}={value!r} must be {rule}")
        return number

    return check


def _formats(value: str | tuple[str, ...], where: str) -> tuple[str, ...]:
    items = value if isinstance(value, tuple) else tuple(v.strip().lower().lstrip(".") for v in value.split(","))
    items = tuple(dict.fromkeys(i for i in items if i))
    if not items:
        raise ConfigError(f"{where} is empty; give one or more of {','.join(FORMATS)}")
    for item in items:
        _choice(item, FORMATS, where)
    return items


def _flag(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{where}={value!r} must be true or false")


_BATCH_RULE = "auto or a whole number of 1 or more"
_VALIDATORS = {
    "formats": _formats,
    "device": lambda v, w: _choice(v, DEVICES, w),
    "compute_type": lambda v, w: _choice(v, COMPUTE_TYPES, w),
    "cleanup": lambda v, w: _choice(v, CLEANUPS, w),
    "backend": lambda v, w: _choice(v, BACKENDS, w),
    "multimodal_verbatim": _flag,
    "vram": _positive(float, "a positive number of GB, such as 12"),
    "cleanup_mode": lambda v, w: _choice(v, CLEANUP_MODES, w),
    "llm_quant": lambda v, w: _choice(v, LLM_QUANTS, w),
    "cleanup_model": lambda v, w: str(v).strip() or "auto",
    "batch_size": lambda v, w: "auto" if str(v).strip().lower() == "auto" else _positive(int, _BATCH_RULE)(v, w),
    "beam_size": _positive(int, "a whole number of 1 or more"),
    "vad": _flag,
    "force": _flag,
    "quiet": _flag,
    "language": lambda v, w: str(v).strip().lower() or "auto",
    "translate_to": lambda v, w: str(v).strip(),
    "model": lambda v, w: str(v).strip() or "auto",
}


def env_name(field_name: str) -> str:
    return f"TRANSCRIBER_{field_name.upper()}"


def flag_name(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


def load_settings(flags: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Settings:
    """Merge CLI flags (None means "not given") over `TRANSCRIBER_*` variables over the defaults."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for f in fields(Settings):
        if flags.get(f.name) is not None:
            raw, where = flags[f.name], flag_name(f.name)
        elif env_name(f.name) in environ:
            raw, where = environ[env_name(f.name)], env_name(f.name)
        else:
            continue
        check = _VALIDATORS.get(f.name)
        values[f.name] = check(raw, where) if check else raw
    for required in ("input", "output"):
        if required not in values:
            raise ConfigError(f"{flag_name(required)} is required (or set {env_name(required)})")
    values["input"] = Path(values["input"]).expanduser()
    values["output"] = Path(values["output"]).expanduser()
    return Settings(**values)


def describe(settings: Settings) -> dict[str, Any]:
    """The settings as plain JSON-able values, for the transcript JSON."""
    data = asdict(settings)
    data["input"], data["output"] = str(settings.input), str(settings.output)
    data["formats"] = list(settings.formats)
    return data
