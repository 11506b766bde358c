"""The speaker flags checked together: `--speakers` and `--min-speakers`/`--max-speakers` can each come from a
flag or a `TRANSCRIBER_*` variable, and a count that contradicts the range beside it would leave the diarizer to
guess which one the user meant, so the run is refused before any file."""

from __future__ import annotations

from transcriber.errors import ConfigError


def check_speaker_range(speakers: str | None, least: int | None, most: int | None) -> None:
    """Refuse a range whose bounds cross, and a count (or `off`) outside the range given beside it."""
    if least is not None and most is not None and least > most:
        raise ConfigError(f"--min-speakers {least} is more than --max-speakers {most}; give a range such as 2 and 4")
    if (least is None and most is None) or speakers in (None, "auto"):
        return
    bounds = " and ".join(f"--{name}-speakers {n}" for name, n in (("min", least), ("max", most)) if n is not None)
    if speakers == "off":
        raise ConfigError(f"--speakers off contradicts {bounds}; give --speakers auto (or leave out the range)")
    count = int(speakers)
    if (least is not None and count < least) or (most is not None and count > most):
        raise ConfigError(f"--speakers {count} is outside {bounds}; give one of them")
