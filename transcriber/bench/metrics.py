"""Scores for one transcript against its references: WER, disfluency removal by category, words invented.

WER uses jiwer after Whisper's English normalizer ("12%" and "twelve percent", "Dr." and "doctor" match).
Disfluency removal is counted on the system's verbatim words, compared word by word through the same
normalizer (a word it empties, such as "um", is compared as itself). A heard word is one to remove when
the verbatim reference has it and the clean reference does not (so a misrecognised word is never one);
it is removed when the clean output leaves it out (both found by aligning the word sequences). Each such
word falls in a category: a hesitation or a discourse marker of the transcript's language (its lexicon),
a repetition ("the the": both copies count as one, since removing either is right), or other (false
starts, edits). Recall is the share of words to remove that were removed, precision the share of removals
that were words to remove; both over all categories and per category.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from transcriber.cleanup.lexicon import PASS_THROUGH, Lexicon, lexicon_for

_WORD = re.compile(r"[\w']+")
#: Where each word the cleanup may remove belongs; `other` is what no lexicon or repetition explains.
CATEGORIES = ("hesitation", "repetition", "marker", "other")
#: The longest repeated phrase counted as one repetition ("we need to we need to").
_LONGEST_REPEAT = 4


def plain_words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def normalizer():  # type: ignore[no-untyped-def]
    from whisper_normalizer.english import EnglishTextNormalizer

    return EnglishTextNormalizer()


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class Counts:
    """Raw counts, summed over recordings before any rate is taken (so the corpus rate is not an average).

    `removal` counts words per `<category>:<want|done|right>`: to remove, removed, and removed rightly."""

    ref_words: int = 0
    errors: int = 0
    clean_ref_words: int = 0
    clean_errors: int = 0
    invented: int = 0
    removal: Counter[str] = field(default_factory=Counter)

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(a + b for a, b in zip(self.__dict__.values(), other.__dict__.values(), strict=True)))

    def removal_total(self, kind: str, category: str | None = None) -> int:
        """`kind` (want, done or right) in one category, or in all of them."""
        return sum(self.removal[f"{c}:{kind}"] for c in ([category] if category else CATEGORIES))

    def rates(self) -> dict[str, float | None]:
        """The reported rates by name; None where there was nothing to divide by (no reference, no removal)."""
        values = {
            "wer": _rate(self.errors, self.ref_words),
            "clean_wer": _rate(self.clean_errors, self.clean_ref_words),
        }
        for category in (None, *CATEGORIES):
            right = self.removal_total("right", category)
            prefix = category or "filler"
            values[f"{prefix}_recall"] = _rate(right, self.removal_total("want", category))
            values[f"{prefix}_precision"] = _rate(right, self.removal_total("done", category))
        return values


def _errors(reference: str, hypothesis: str) -> tuple[int, int, int]:
    """(reference words, substitutions + deletions + insertions, insertions) after normalisation."""
    import jiwer

    norm = normalizer()
    ref, hyp = norm(reference), norm(hypothesis)
    if not ref.split():
        return 0, len(hyp.split()), len(hyp.split())
    out = jiwer.process_words(ref, hyp)
    return len(ref.split()), out.substitutions + out.deletions + out.insertions, out.insertions


def _matched(source: list[str], target: list[str]) -> set[int]:
    """Positions of `source` words that the alignment with `target` keeps."""
    blocks = SequenceMatcher(a=source, b=target, autojunk=False).get_matching_blocks()
    return {i for block in blocks for i in range(block.a, block.a + block.size)}


def _groups(said: list[str], lexicon: Lexicon) -> list[tuple[str, int]]:
    """Each verbatim word's (category, group): words of one marker phrase or one repetition share a group,
    so a removal is scored once per group whichever copy or word of it went."""
    found = [("hesitation" if w in lexicon.fillers else "other", i) for i, w in enumerate(said)]
    for i in range(len(said)):
        for marker in lexicon.markers:
            if tuple(said[i : i + len(marker.phrase)]) == marker.phrase:
                found[i : i + len(marker.phrase)] = [("marker", i)] * len(marker.phrase)
    for i in range(len(said)):
        for n in range(_LONGEST_REPEAT, 0, -1):
            span = found[i : i + 2 * n]
            if said[i : i + n] == said[i + n : i + 2 * n] and all(c == "other" for c, _ in span):
                found[i : i + 2 * n] = [("repetition", i)] * (2 * n)
    return found


def removal_counts(verbatim: str, clean: str, reference: str, clean_reference: str, language: str) -> Counter[str]:
    """Per category: words to remove (`want`), removed (`done`) and removed rightly (`right`); see the module."""
    norm = normalizer()

    def keyed(text: str) -> list[str]:
        return [norm(w) or w for w in plain_words(text)]

    said = keyed(verbatim)
    heard_right = _matched(said, keyed(reference))
    kept_by_reference, kept = _matched(said, keyed(clean_reference)), _matched(said, keyed(clean))
    tallies: dict[tuple[str, int], list[int]] = {}
    for i, group in enumerate(_groups(plain_words(verbatim), lexicon_for(language) or PASS_THROUGH)):
        tally = tallies.setdefault(group, [0, 0])
        tally[0] += i in heard_right and i not in kept_by_reference
        tally[1] += i not in kept
    counts: Counter[str] = Counter()
    for (category, _), (wanted, removed) in tallies.items():
        counts.update({f"{category}:want": wanted, f"{category}:done": removed})
        counts[f"{category}:right"] += min(wanted, removed)
    return counts


def score(
    verbatim: str, clean: str, reference: str | None, clean_reference: str | None, language: str = "en"
) -> Counts:
    """Counts for one recording: `verbatim`/`clean` are the system's texts; references may be missing."""
    counts = Counts()
    if reference is not None:
        counts.ref_words, counts.errors, _ = _errors(reference, verbatim)
    if clean_reference is not None:
        counts.clean_ref_words, counts.clean_errors, counts.invented = _errors(clean_reference, clean)
    if reference is not None and clean_reference is not None:
        counts.removal = removal_counts(verbatim, clean, reference, clean_reference, language)
    return counts
