"""Per-language word lists for the rules cleanup.

Only languages listed in `LEXICONS` are cleaned by rules, each by its own list; text in any other
language passes through untouched, because a filler in one language is a word in another: English "er"
is German "he", German and English "um" is Portuguese "a", Spanish "este" is "this", Portuguese "é" is "is".
Such words are never in `fillers` (removed wherever they stand); where they are also fillers they are
discourse markers, removed only in the contexts `rules` documents. The lists themselves are data,
`lexicons.toml` beside this module: adding a language is one table there.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class Marker:
    """A discourse marker ("you know") and the contexts where the rules may take it as a filler.

    Every marker goes where punctuation sets it off mid-sentence ("I think, you know, the team").
    edges: also at a sentence's start or end when a comma sets it off ("You know, it broke." and
        "It was fine, you know."); off for hedges that carry meaning there ("It worked, sort of.").
    loose: also after a conjunction when a comma closes it ("and you know, the server"), and right
        before a hesitation ("and you know uh the server"); off for words that are too often real words.
    """

    phrase: tuple[str, ...]
    edges: bool = True
    loose: bool = True


@dataclass(frozen=True)
class Lexicon:
    """What the rules may remove in one language.

    fillers: hesitation sounds, removed wherever they stand.
    markers: discourse markers, removed only in the contexts their `Marker` allows.
    conjunctions: words after which a clause starts ("and", "but"), for the `loose` marker contexts.
    keep_doubles: words whose immediate repetition is often grammatical ("that that", "had had", French
        "nous nous"); they are collapsed only when the recogniser put a comma between the copies.
    number_words: spoken numbers; "twenty twenty" is a year, so they follow the keep_doubles rule too.
    comma_openers: sentence openers that keep their comma when a filler after them goes
        ("So, um, we" -> "So, we"); after any other word the filler's commas go with it
        ("I, um, think" -> "I think").
    function_words: the language's commonest articles, pronouns and prepositions; the rules never touch
        them, but telling a transcript's language from its words (`text_language`) needs them: without
        French "en" and "du", a French text scored for Dutch ("en") and German ("weißt du").
    """

    fillers: frozenset[str]
    markers: tuple[Marker, ...]
    conjunctions: frozenset[str]
    keep_doubles: frozenset[str]
    number_words: frozenset[str]
    comma_openers: frozenset[str]
    function_words: frozenset[str]


def _lexicon(table: dict[str, Any]) -> Lexicon:
    """One language's table of `lexicons.toml`: word lists as space-separated strings, markers by phrase."""
    words = {key: frozenset(table[key].split()) for key in _WORD_LISTS}
    markers = tuple(
        Marker(tuple(phrase.split()), "edges" in contexts, "loose" in contexts)
        for phrase, contexts in table["markers"].items()
    )
    return Lexicon(markers=markers, **words)


_WORD_LISTS = ("fillers", "conjunctions", "keep_doubles", "number_words", "comma_openers", "function_words")
_DATA = tomllib.loads(resources.files("transcriber.cleanup").joinpath("lexicons.toml").read_text(encoding="utf-8"))
LEXICONS: dict[str, Lexicon] = {code: _lexicon(table) for code, table in _DATA.items()}

#: Every language's hesitation sounds, for checks that must not count them as content (the LLM guard).
ALL_FILLERS = frozenset().union(*(lexicon.fillers for lexicon in LEXICONS.values()))

#: For languages without a lexicon: nothing is removed, the text is only split into words.
PASS_THROUGH = Lexicon(frozenset(), (), frozenset(), frozenset(), frozenset(), frozenset(), frozenset())


def lexicon_for(language: str) -> Lexicon | None:
    """The lexicon for a language code such as "en" or "en-GB"; None where the rules must not run."""
    return LEXICONS.get(language.lower().split("-")[0].split("_")[0])
