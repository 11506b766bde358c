"""Per-language word lists for the rules cleanup.

Only languages listed in `LEXICONS` are cleaned by rules, each by its own list; text in any other
language passes through untouched, because a filler in one language is a word in another: English "er"
is German "he", German and English "um" is Portuguese "a", Spanish "este" is "this", Portuguese "é" is "is".
Such words are never in `fillers` (removed wherever they stand); where they are also fillers they are
discourse markers, removed only in the contexts `rules` documents.
"""

from __future__ import annotations

from dataclasses import dataclass


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


def _markers(*phrases: str, edges: bool = True, loose: bool = True) -> tuple[Marker, ...]:
    return tuple(Marker(tuple(p.split()), edges, loose) for p in phrases)


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
    """

    fillers: frozenset[str]
    markers: tuple[Marker, ...]
    conjunctions: frozenset[str]
    keep_doubles: frozenset[str]
    number_words: frozenset[str]
    comma_openers: frozenset[str]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


ENGLISH = Lexicon(
    fillers=_words("um umm ummm uh uhh uhm er erm ehm hmm hmmm hm mm mmm ah ahh"),
    markers=_markers("you know", "i mean", "like") + _markers("sort of", "kind of", edges=False, loose=False),
    conjunctions=_words("and but so or because then"),
    keep_doubles=_words("that had is bye very no so really many much too"),
    number_words=_words(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety "
        "hundred thousand million billion"
    ),
    comma_openers=_words(
        "so well yes yeah no okay ok right now oh look listen actually honestly anyway alright also "
        "however first second finally and but then"
    ),
)

GERMAN = Lexicon(
    fillers=_words("äh ähm ääh äähm öh öhm ehm hm hmm mhm"),
    markers=_markers("weißt du", "sag ich mal") + _markers("sozusagen", edges=False, loose=False),
    conjunctions=_words("und aber oder denn also dann"),
    keep_doubles=_words("der die das dass sehr so ja nein gut"),
    number_words=_words(
        "eins zwei drei vier fünf sechs sieben acht neun zehn elf zwölf zwanzig dreißig hundert tausend"
    ),
    comma_openers=_words("also ja nein gut okay ok naja so und aber dann nun"),
)

FRENCH = Lexicon(
    fillers=_words("euh euhm heu hum hmm mh"),
    markers=_markers("tu sais", "vous savez", "je veux dire") + _markers("genre", loose=False),
    conjunctions=_words("et mais ou donc alors puis"),
    keep_doubles=_words("nous vous que très non si"),
    number_words=_words("un deux trois quatre cinq six sept huit neuf dix onze douze vingt trente cent mille"),
    comma_openers=_words("alors bon donc oui non bien ok et mais enfin puis"),
)

SPANISH = Lexicon(
    fillers=_words("eh ehm em mmm hmm mm"),
    markers=_markers("o sea", "sabes", "digamos") + _markers("este", loose=False),
    conjunctions=_words("y pero o entonces porque"),
    keep_doubles=_words("que muy sí no"),
    number_words=_words("uno dos tres cuatro cinco seis siete ocho nueve diez once doce veinte treinta cien mil"),
    comma_openers=_words("bueno pues entonces sí no vale ok y pero bien"),
)

ITALIAN = Lexicon(
    fillers=_words("ehm ehmm eh ehh mmm hmm uhm"),
    markers=_markers("cioè", "diciamo", "sai", "insomma") + _markers("tipo", loose=False),
    conjunctions=_words("e ma o quindi allora perché"),
    keep_doubles=_words("che molto sì no piano via quasi"),
    number_words=_words("uno due tre quattro cinque sei sette otto nove dieci undici dodici venti trenta cento mille"),
    comma_openers=_words("allora beh bene sì no ok quindi e ma comunque"),
)

PORTUGUESE = Lexicon(
    fillers=_words("hum humm hmm ahn ãh hã éh ehm mmm"),
    markers=_markers("sabe", "quer dizer") + _markers("tipo", loose=False) + _markers("é", edges=False, loose=False),
    conjunctions=_words("e mas ou então porque"),
    keep_doubles=_words("que muito não sim é"),
    number_words=_words("um dois três quatro cinco seis sete oito nove dez onze doze vinte trinta cem mil"),
    comma_openers=_words("então bom bem sim não ok olha e mas enfim"),
)

DUTCH = Lexicon(
    fillers=_words("eh ehm euh uh uhm hm hmm"),
    markers=_markers("weet je", "zeg maar"),
    conjunctions=_words("en maar of dus want toen"),
    keep_doubles=_words("dat die heel ja nee"),
    number_words=_words("een twee drie vier vijf zes zeven acht negen tien elf twaalf twintig dertig honderd duizend"),
    comma_openers=_words("dus nou ja nee oké ok goed en maar toen dan"),
)

LEXICONS: dict[str, Lexicon] = {
    "en": ENGLISH,
    "de": GERMAN,
    "fr": FRENCH,
    "es": SPANISH,
    "it": ITALIAN,
    "pt": PORTUGUESE,
    "nl": DUTCH,
}

#: Every language's hesitation sounds, for checks that must not count them as content (the LLM guard).
ALL_FILLERS = frozenset().union(*(lexicon.fillers for lexicon in LEXICONS.values()))

#: For languages without a lexicon: nothing is removed, the text is only split into words.
PASS_THROUGH = Lexicon(frozenset(), (), frozenset(), frozenset(), frozenset(), frozenset())


def lexicon_for(language: str) -> Lexicon | None:
    """The lexicon for a language code such as "en" or "en-GB"; None where the rules must not run."""
    return LEXICONS.get(language.lower().split("-")[0].split("_")[0])
