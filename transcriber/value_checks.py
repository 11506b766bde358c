"""The checks a setting's value passes where its declared type (and `choices`) is all there is to know:
a choice, a comma list of choices, a positive number, a switch, a path. Each returns the value in its type
or raises a `ConfigError` naming `where` (the flag or the environment variable) and what is allowed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transcriber.errors import ConfigError


def choice(value: Any, allowed: tuple[str, ...], where: str) -> str:
    text = str(value).strip()
    if text not in allowed:
        raise ConfigError(f"{where}={value!r} is not one of: {', '.join(allowed)}")
    return text


def items(value: Any, allowed: tuple[str, ...], where: str) -> tuple[str, ...]:
    """A comma-separated list (or a tuple), deduplicated and sorted, every item one of `allowed`."""
    items = value if isinstance(value, tuple) else tuple(v.strip().lower().lstrip(".") for v in str(value).split(","))
    items = tuple(sorted({i for i in items if i}))
    if not items:
        raise ConfigError(f"{where} is empty; give one or more of {','.join(allowed)}")
    return tuple(choice(item, allowed, where) for item in items)


def positive(kind: type[int] | type[float], value: Any, where: str) -> int | float:
    """`value` read as a `kind` of at least 1 (int) or above 0 (float)."""
    try:
        number = kind(value)
    except (TypeError, ValueError):
        number = kind(0)
    if number <= 0:
        rule = "a whole number of 1 or more" if kind is int else "a positive number"
        raise ConfigError(f"{where}={value!r} must be {rule}")
    return number


def flag(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{where}={value!r} must be true or false")


def path(value: Any, where: str) -> Path:
    if not str(value).strip():
        raise ConfigError(f"{where} is empty; give a folder or file")
    return Path(str(value)).expanduser()
