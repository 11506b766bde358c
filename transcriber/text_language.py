"""Which language a transcript is in, found from its words, for a recogniser that did not say (Parakeet v3 and
Granite Speech under `--language auto`): the rules cleanup needs the language, and leaves text in an unknown one
as it was recognised.

The evidence is the rules cleanup's own lexicons (`cleanup/lexicons.toml`): each language's conjunctions, words
whose doubling is grammatical, number words, sentence openers, one-word discourse markers and commonest
function words, each word counted only for
the one language whose lexicon holds it (Italian and Portuguese "e" counts for neither). Hesitations are left
out: languages share them ("eh", "hmm"). A language is named only when the words clearly point to it: at least
`MIN_HITS` of them, making up at least `MIN_DENSITY` of the transcript's words, and at least `MIN_SHARE` of all
such words found. Anything less leaves the language unknown, so a language without a lexicon (Polish, Czech,
...) is never named, and a short or mixed transcript is not guessed at.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from transcriber.cleanup.lexicon import LEXICONS, Lexicon
from transcriber.transcript import Transcript

MIN_HITS = 4
MIN_DENSITY = 0.04
MIN_SHARE = 0.8
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


@dataclass(frozen=True)
class Guess:
    """The language found, the share of the distinctive words that are its own, and how many it had."""

    language: str
    share: float
    hits: int


def _vocabulary(lexicon: Lexicon) -> set[str]:
    """The lexicon's words that may name its language. Words of a marker of two or more words are left out:
    alone they are other languages' words too (German "weißt du" would make French "du" German)."""
    words = lexicon.conjunctions | lexicon.keep_doubles | lexicon.number_words | lexicon.comma_openers
    singles = {marker.phrase[0] for marker in lexicon.markers if len(marker.phrase) == 1}
    return set(words | lexicon.function_words) | singles


def _distinctive(codes: Iterable[str]) -> dict[str, str]:
    """Word -> the one language whose lexicon holds it, where that language is among `codes`. A word of two
    lexicons is no one's, even when only one of them is a candidate: Dutch "we" and "is" are not English."""
    owners: dict[str, set[str]] = {}
    for code in LEXICONS:
        for word in _vocabulary(LEXICONS[code]):
            owners.setdefault(word, set()).add(code)
    wanted = set(codes)
    return {word: lang for word, langs in owners.items() if len(langs) == 1 and (lang := next(iter(langs))) in wanted}


def identify(text: str, candidates: Iterable[str] | None = None) -> Guess | None:
    """The language of `text` among `candidates` (default: every language with a lexicon), or None when the
    words do not clearly name one. Candidates without a lexicon cannot be found and are ignored."""
    codes = sorted(LEXICONS if candidates is None else set(candidates) & set(LEXICONS))
    owner = _distinctive(codes)
    words = _WORD.findall(text.lower())
    hits = Counter(owner[word] for word in words if word in owner)
    if not hits:
        return None
    language, count = hits.most_common(1)[0]
    share = count / sum(hits.values())
    if count < MIN_HITS or count < MIN_DENSITY * len(words) or share < MIN_SHARE:
        return None
    return Guess(language, round(share, 3), count)


def record_language(transcript: Transcript, given: str, candidates: Iterable[str] | None = None) -> None:
    """Say how the transcript's language was found (`Transcript.language_source`), and where the recogniser named
    none, find it from the words among `candidates` (the model's languages, when the catalog lists them)."""
    if transcript.language_source:
        return
    if given != "auto" or transcript.language:
        transcript.language_source = "given" if given != "auto" else "model"
        return
    guess = identify(transcript.verbatim_text, candidates)
    if guess is not None:
        transcript.language, transcript.language_source = guess.language, "text"
        transcript.language_probability = guess.share
