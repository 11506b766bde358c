"""Scores for one transcript against its references: WER, disfluency removal, words invented.

WER uses jiwer after Whisper's English normalizer ("12%" and "twelve percent", "Dr." and "doctor" match).
Disfluency removal is counted on plain lower-case words, because that normalizer drops "um" and "uh":
the words to remove are those the verbatim reference has beyond the clean one; recall is the share of
those the system heard that its cleanup removed, precision the share of its removals that were such words.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

_WORD = re.compile(r"[\w']+")


def plain_words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def normalizer():  # type: ignore[no-untyped-def]
    from whisper_normalizer.english import EnglishTextNormalizer

    return EnglishTextNormalizer()


@dataclass
class Counts:
    """Raw counts, summed over recordings before any rate is taken (so the corpus rate is not an average)."""

    ref_words: int = 0
    errors: int = 0
    clean_ref_words: int = 0
    clean_errors: int = 0
    invented: int = 0
    disfluent_heard: int = 0
    removed: int = 0
    removed_disfluent: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(a + b for a, b in zip(self.__dict__.values(), other.__dict__.values(), strict=True)))

    @property
    def wer(self) -> float | None:
        return self.errors / self.ref_words if self.ref_words else None

    @property
    def clean_wer(self) -> float | None:
        return self.clean_errors / self.clean_ref_words if self.clean_ref_words else None

    @property
    def filler_recall(self) -> float | None:
        return self.removed_disfluent / self.disfluent_heard if self.disfluent_heard else None

    @property
    def filler_precision(self) -> float | None:
        return self.removed_disfluent / self.removed if self.removed else None


def _errors(reference: str, hypothesis: str) -> tuple[int, int, int]:
    """(reference words, substitutions + deletions + insertions, insertions) after normalisation."""
    import jiwer

    norm = normalizer()
    ref, hyp = norm(reference), norm(hypothesis)
    if not ref.split():
        return 0, len(hyp.split()), len(hyp.split())
    out = jiwer.process_words(ref, hyp)
    return len(ref.split()), out.substitutions + out.deletions + out.insertions, out.insertions


def score(verbatim: str, clean: str, reference: str | None, clean_reference: str | None) -> Counts:
    """Counts for one recording: `verbatim`/`clean` are the system's texts; references may be missing."""
    counts = Counts()
    if reference is not None:
        counts.ref_words, counts.errors, _ = _errors(reference, verbatim)
    if clean_reference is not None:
        counts.clean_ref_words, counts.clean_errors, counts.invented = _errors(clean_reference, clean)
    if reference is not None and clean_reference is not None:
        disfluent = Counter(plain_words(reference)) - Counter(plain_words(clean_reference))
        heard = Counter(plain_words(verbatim))
        removed = heard - Counter(plain_words(clean))
        counts.disfluent_heard = sum((disfluent & heard).values())
        counts.removed = sum(removed.values())
        counts.removed_disfluent = sum((removed & disfluent).values())
    return counts
