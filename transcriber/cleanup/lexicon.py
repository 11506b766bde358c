"""Per-language word lists for the rules cleanup.

Only languages listed in `LEXICONS` are cleaned by rules; text in any other language passes through
untouched, because removing words by an English list from, say, German would delete real words ("er").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Lexicon:
    """What the rules may remove in one language.

    fillers: hesitation sounds, removed wherever they stand.
    discourse_markers: phrases removed only where punctuation sets them off as a filler
        ("I think, you know, the team"), never inside a clause ("you know what I mean").
    keep_doubles: words whose immediate repetition is often grammatical ("that that", "had had"); they
        are collapsed only when the recogniser put a comma between the copies.
    number_words: spoken numbers; "twenty twenty" is a year, so they follow the keep_doubles rule too.
    comma_openers: sentence openers that keep their comma when a filler after them goes
        ("So, um, we" -> "So, we"); after any other word the filler's commas go with it
        ("I, um, think" -> "I think").
    """

    fillers: frozenset[str]
    discourse_markers: tuple[tuple[str, ...], ...]
    keep_doubles: frozenset[str]
    number_words: frozenset[str]
    comma_openers: frozenset[str]


ENGLISH = Lexicon(
    fillers=frozenset(
        {"um", "umm", "ummm", "uh", "uhh", "uhm", "er", "erm", "ehm", "hmm", "hmmm", "hm", "mm", "mmm", "ah", "ahh"}
    ),
    discourse_markers=(("you", "know"), ("i", "mean")),
    keep_doubles=frozenset({"that", "had", "is", "bye", "very", "no", "so", "really", "many", "much", "too"}),
    number_words=frozenset(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety "
        "hundred thousand million billion".split()
    ),
    comma_openers=frozenset(
        "so well yes yeah no okay ok right now oh look listen actually honestly anyway alright also "
        "however first second finally and but then".split()
    ),
)

LEXICONS: dict[str, Lexicon] = {"en": ENGLISH}

#: For languages without a lexicon: nothing is removed, the text is only split into words.
PASS_THROUGH = Lexicon(frozenset(), (), frozenset(), frozenset(), frozenset())


def lexicon_for(language: str) -> Lexicon | None:
    """The lexicon for a language code such as "en" or "en-GB"; None where the rules must not run."""
    return LEXICONS.get(language.lower().split("-")[0].split("_")[0])
