"""Host configuration from env files: flags over the environment over `env/local.env` over `env/defaults.env`.

`env/defaults.env` is committed; `env/local.env` is written by `invoke setup` with what it found on this
machine, and git-ignored. Every key is validated once; a bad value is an error naming the file (or the
environment) and the key.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from transcriber.atomic import write_atomic
from transcriber.catalog import AUTO_MODEL
from transcriber.errors import ConfigError
from transcriber.host.gpu import GPU_CHOICES

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def _override(value: str) -> str:
    if value and not re.fullmatch(r"\d+\.\d+\.\d+", value):
        raise ValueError("must look like 11.0.1 (major.minor.stepping), or be empty for no override")
    return value


def _gpu(value: str) -> str:
    if value not in GPU_CHOICES:
        raise ValueError(f"must be one of {', '.join(GPU_CHOICES)}")
    return value


def _build_args(value: str) -> str:
    if any("=" not in item for item in shlex.split(value)):
        raise ValueError("must be KEY=VALUE items separated by spaces, such as 'CT2_SOURCE=pypi'")
    return value


def _gids(value: str) -> str:
    if value and not re.fullmatch(r"\d+(,\d+)*", value):
        raise ValueError("must be numeric group ids separated by commas, such as 44,992")
    return value


def _nonempty(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    return value


#: Every key the host side reads, with its check; other keys in the files are passed over.
KEYS: dict[str, Callable[[str], str]] = {
    "HSA_OVERRIDE_GFX_VERSION": _override,
    "CT2_CUDA_ALLOCATOR": lambda v: v,
    "TRANSCRIBER_GPU": _gpu,
    "TRANSCRIBER_GFX_TARGET": lambda v: v,
    "TRANSCRIBER_RENDER_NODE": lambda v: v,
    "TRANSCRIBER_DEVICE_GIDS": _gids,
    "TRANSCRIBER_IMAGE": _nonempty,
    "TRANSCRIBER_MODEL_CACHE": _nonempty,
    "TRANSCRIBER_MODEL_ROCM": _nonempty,
    "TRANSCRIBER_MODEL_CUDA": _nonempty,
    "TRANSCRIBER_MODEL_CPU": _nonempty,
    "TRANSCRIBER_SHM_SIZE": _nonempty,
    "TRANSCRIBER_BUILD_ARGS": _build_args,
}


def parse_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; blank lines and # comments skipped; one layer of matching quotes removed."""
    values = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise ConfigError(f"{path}:{number}: cannot read {line.strip()!r}; write KEY=VALUE")
        key, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


@dataclass(frozen=True)
class HostConfig:
    """The merged, validated values, and where each came from (for error messages and doctor)."""

    values: dict[str, str]
    sources: dict[str, str]

    def get(self, key: str, default: str = "") -> str:
        return self.values.get(key, default)


def load_host_config(
    env_dir: Path, environ: Mapping[str, str], flags: Mapping[str, str | None] | None = None
) -> HostConfig:
    """Merge defaults.env < local.env < environment < flags, checking each known key where it comes from."""
    layers: list[tuple[str, Mapping[str, str]]] = []
    for name in ("defaults.env", "local.env"):
        path = env_dir / name
        if path.is_file():
            layers.append((str(path), parse_env_file(path)))
    layers.append(("the environment", environ))
    layers.append(("the command line", {k: v for k, v in (flags or {}).items() if v is not None}))
    values: dict[str, str] = {}
    sources: dict[str, str] = {}
    for where, layer in layers:
        for key, check in KEYS.items():
            if key in layer:
                try:
                    values[key] = check(layer[key].strip())
                except ValueError as exc:
                    raise ConfigError(f"{key}={layer[key]!r} in {where}: {exc}") from None
                sources[key] = where
    return HostConfig(values=values, sources=sources)


def write_local_env(path: Path, values: Mapping[str, str], header: str) -> None:
    """Write `local.env` atomically, checked by the same rules it will be read with."""
    lines = [f"# {line}" for line in header.splitlines()]
    for key, value in values.items():
        KEYS[key](value)
        lines.append(f"{key}={value}")
    write_atomic(path, "\n".join(lines) + "\n")


def build_args(config: HostConfig) -> dict[str, str]:
    """TRANSCRIBER_BUILD_ARGS as Dockerfile build arguments (a torch index, a CTranslate2 source...)."""
    return dict(item.split("=", 1) for item in shlex.split(config.get("TRANSCRIBER_BUILD_ARGS")))


def model_cache(config: HostConfig) -> Path:
    """The host folder mounted as the container's HF_HOME; inside our container (the devcontainer), that
    mount itself, so tasks run there read and fill the same cache as `transcriber run`."""
    if os.environ.get("TRANSCRIBER_IN_CONTAINER") == "1" and os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"])
    return Path(config.get("TRANSCRIBER_MODEL_CACHE", "~/.cache/transcriber/huggingface")).expanduser()


def image_tag(config: HostConfig, gpu_kind: str, target: str = "runtime") -> str:
    """transcriber:rocm for AMD, the CPU image otherwise; the dev target gets its own tag (`:cpu-dev`), so
    building it never replaces the image `invoke transcribe` runs."""
    suffix = "" if target == "runtime" else f"-{target}"
    return f"{config.get('TRANSCRIBER_IMAGE', 'transcriber')}:{'rocm' if gpu_kind == 'rocm' else 'cpu'}{suffix}"


def default_model(config: HostConfig, gpu_kind: str) -> str:
    """env's TRANSCRIBER_MODEL_<KIND>, else the same choice `transcriber run --model auto` makes."""
    return config.get(f"TRANSCRIBER_MODEL_{gpu_kind.upper()}") or AUTO_MODEL["cpu" if gpu_kind == "cpu" else "cuda"]
