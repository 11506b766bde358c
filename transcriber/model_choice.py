"""`--model auto` on the pipeline backend: which recogniser a run loads, and the one line that says why.

The rule (docs/engines.md has it as a table):

1. No GPU (torch sees none, or `--device cpu`): Whisper, as before (`AUTO_MODEL["cpu"]`).
2. `--language auto`: Whisper (`AUTO_MODEL["cuda"]`). Only Whisper names any of its hundred spoken languages;
   the specialists take a language list, and outside it they write the wrong language without a word.
3. Otherwise the transformers recogniser of the catalog with the lowest leaderboard WER (below Whisper's)
   among those whose repo holds transformers weights, whose languages include `--language` and whose VRAM,
   beside what the same stage holds (the diarizer with `--speakers`; the cleanup LLM comes after the
   recogniser is freed), fits the free memory.
4. Nothing covers the language, or nothing fits: Whisper (`AUTO_MODEL["cuda"]`).

The facts (free memory, the language, whether speakers are on) are passed in, so every rule is testable
without a GPU.
"""

from __future__ import annotations

from dataclasses import dataclass

from transcriber.catalog import TRANSFORMERS_ASR_CATALOG, TransformersAsrInfo
from transcriber.vram import usable_gb

#: What the diarizer holds on the GPU during recognition (pyannote's pipeline, the larger of the two; the
#: embedding diarizer needs about a tenth of it), so the recogniser is planned beside it.
DIARIZER_VRAM_GB = 1.0
#: The leaderboard's English average for Whisper large-v3-turbo, the GPU's Whisper: a specialist must beat it.
WHISPER_WER = 7.83
WHISPER = "auto"


@dataclass(frozen=True)
class Choice:
    """The model to load (`WHISPER`: the Whisper path's own auto choice) and why, for the run's header."""

    model: str
    reason: str


def ranked(language: str) -> list[TransformersAsrInfo]:
    """The catalog's transformers recognisers for `language`, most accurate first (those without a figure left out)."""
    covering = [m for m in TRANSFORMERS_ASR_CATALOG.values()
                if 0 < m.wer < WHISPER_WER and language in m.languages and m.transformers_weights]  # fmt: skip
    return sorted(covering, key=lambda m: (m.wer, m.vram_gb))


def choose_model(language: str, free_gb: float | None, speakers: bool) -> Choice:
    """`--model auto`'s pick for `language` on a GPU with `free_gb` free (None: no GPU)."""
    if free_gb is None:
        return Choice(WHISPER, "no GPU: Whisper on the CPU")
    if language == "auto":
        return Choice(WHISPER, "--language auto: only Whisper names the spoken language; give --language to "
                               "let auto pick a specialist")  # fmt: skip
    candidates = ranked(language)
    if not candidates:
        return Choice(WHISPER, f"no transformers recogniser in the catalog covers {language!r}; Whisper does")
    reserve = DIARIZER_VRAM_GB if speakers else 0.0
    budget = usable_gb(free_gb) - reserve
    beside = f" beside the diarizer's {reserve:.1f} GB" if speakers else ""
    for info in candidates:
        if info.vram_gb <= budget:
            return Choice(
                info.name,
                f"the most accurate catalog model for {language!r} that fits: leaderboard WER {info.wer:.2f} %, "
                f"{info.vram_gb:.1f} GB of the GPU's {free_gb:.1f} GB free{beside}",
            )
    smallest = min(candidates, key=lambda m: m.vram_gb)
    return Choice(WHISPER, f"no catalog model for {language!r} fits {free_gb:.1f} GB free{beside} (the smallest, "
                           f"{smallest.name}, needs {smallest.vram_gb:.1f} GB); Whisper does")  # fmt: skip
