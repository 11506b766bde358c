"""Deterministic cleanup: remove fillers, stutters and repeated words, and mend the punctuation around them.

It only ever deletes words, so it cannot invent text; every deletion is recorded as an `Edit` with the
character span it removed from the verbatim text and the reason. It runs before any LLM pass and is the
whole cleanup with `--cleanup rules`.

Discourse markers ("you know", "I mean", "like", "sort of", "kind of" and their kin in other languages)
are words as often as fillers, so the rules take one only where it is a filler with high confidence, and
leave every other occurrence to the LLM stage. The contexts, each with an example that loses the marker
and a counter-example kept intact (the tests hold both):

1. Set off by punctuation mid-sentence: "I think, you know, the team" -> "I think the team";
   kept: "It looks like rain, like yesterday." (nothing closes the second "like").
2. At a sentence's edge, with a comma on its inner side (markers with `edges`): "You know, it broke." ->
   "It broke."; "It was fine, you know." -> "It was fine."; kept: "I mean it." and "It worked, sort of."
3. After a conjunction, a comma closing it (markers that are `loose`): "and you know, the server was down"
   -> "and the server was down"; kept: "and you know what I mean".
4. Right before a hesitation, after a comma or a conjunction (`loose`): "and you know uh the server" ->
   "and the server"; kept: "do you know uh the server name?", "I like uh pizza" and, since a question
   may follow, "You know uh what time it is?".

"and you know the server was down again" matches none of them ("you know" could be meant), so the rules
keep it and the LLM decides.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from transcriber.cleanup.lexicon import PASS_THROUGH, Lexicon, Marker, lexicon_for
from transcriber.transcript import Edit

_TOKEN = re.compile(r"\S+")
_PARTS = re.compile(r"^([\"'(\[¿¡]*)(.*?)([,.;:!?\"')\]…]*)$", re.DOTALL)
_SENTENCE_END = frozenset(".?!…")
_MAX_PHRASE = 4


@dataclass
class _Token:
    start: int
    end: int
    lead: str
    word: str
    trail: str

    @property
    def norm(self) -> str:
        return self.word.lower().strip("-")

    @property
    def ends_sentence(self) -> bool:
        stripped = self.trail.rstrip("\"')]")
        return bool(stripped) and stripped[-1] in _SENTENCE_END

    def render(self) -> str:
        return f"{self.lead}{self.word}{self.trail}"


@dataclass
class _Removal:
    first: int
    last: int
    reason: str


def _tokenize(text: str) -> list[_Token]:
    tokens = []
    for match in _TOKEN.finditer(text):
        parts = _PARTS.match(match.group())
        assert parts is not None  # the pattern matches any string
        lead, word, trail = parts.groups()
        tokens.append(_Token(match.start(), match.end(), lead, word, trail))
    return tokens


class _Pass:
    """The removal passes over one text; `alive` holds the indices of the tokens still kept."""

    def __init__(self, tokens: list[_Token], lexicon: Lexicon) -> None:
        self.tokens = tokens
        self.lex = lexicon
        self.alive = [i for i, t in enumerate(tokens) if t.word]
        self.removals: list[_Removal] = []

    def remove(self, positions: range, reason: str) -> None:
        """Drop alive tokens at `positions`, recorded as one removal per run of adjacent tokens.

        A phrase can span a token an earlier pass removed ("you, uh, you"); splitting at such gaps keeps
        every edit's span to the words this removal took.
        """
        indices = self.alive[positions.start : positions.stop]
        first = indices[0]
        for before, after in zip(indices, [*indices[1:], None], strict=True):
            if after is None or after != before + 1:
                self.removals.append(_Removal(first, before, reason))
                first = after if after is not None else first
        del self.alive[positions.start : positions.stop]

    def norms(self, start: int, length: int) -> list[str]:
        return [self.tokens[i].norm for i in self.alive[start : start + length]]

    def fillers(self) -> None:
        pos = 0
        while pos < len(self.alive):
            if self.tokens[self.alive[pos]].norm in self.lex.fillers:
                self.remove(range(pos, pos + 1), "filler")
            else:
                pos += 1

    def discourse_markers(self) -> None:
        for marker in self.lex.markers:
            pos = 0
            while pos + len(marker.phrase) <= len(self.alive):
                if self._is_filler_marker(pos, marker):
                    self.remove(range(pos, pos + len(marker.phrase)), "discourse marker")
                else:
                    pos += 1

    def _is_filler_marker(self, pos: int, marker: Marker) -> bool:
        """Whether the marker at `pos` stands in one of the contexts where it is a filler (see module doc)."""
        n = len(marker.phrase)
        if tuple(self.norms(pos, n)) != marker.phrase:
            return False
        inside = [self.tokens[i] for i in self.alive[pos : pos + n]]
        if any(t.trail for t in inside[:-1]) or any(t.lead for t in inside):
            return False
        before = self.tokens[self.alive[pos - 1]] if pos > 0 else None
        last = inside[-1]
        opens_sentence = before is None or before.ends_sentence
        comma_before = before is not None and bool(before.trail) and not before.ends_sentence
        comma_after = bool(last.trail) and not last.ends_sentence
        closes_sentence = pos + n == len(self.alive) or last.ends_sentence
        if comma_before and comma_after:
            return True
        if marker.edges and ((opens_sentence and comma_after) or (comma_before and closes_sentence)):
            return True
        if not marker.loose:
            return False
        after_conjunction = before is not None and not before.trail and before.norm in self.lex.conjunctions
        if after_conjunction and comma_after:
            return True
        following = self.alive[pos + n - 1] + 1
        hesitation_next = following < len(self.tokens) and self.tokens[following].norm in self.lex.fillers
        return hesitation_next and (comma_before or after_conjunction)

    def stutters(self) -> None:
        """Drop cut-off fragments such as "th-" right before the word they start."""
        pos = 0
        while pos + 1 < len(self.alive):
            token = self.tokens[self.alive[pos]]
            following = self.tokens[self.alive[pos + 1]].word.lower()
            fragment = token.word.lower().rstrip("-")
            if token.word.endswith("-") and fragment and following.startswith(fragment):
                self.remove(range(pos, pos + 1), "stutter")
            else:
                pos += 1

    def repetitions(self) -> None:
        """Collapse a word or phrase said twice in a row ("can, can", "can you, can you") to one copy."""
        pos = 0
        while pos < len(self.alive):
            for n in range(_MAX_PHRASE, 0, -1):
                if self._repeats(pos, n):
                    self.remove(range(pos, pos + n), "repetition")
                    break
            else:
                pos += 1

    def _repeats(self, pos: int, n: int) -> bool:
        if pos + 2 * n > len(self.alive) or self.norms(pos, n) != self.norms(pos + n, n):
            return False
        first = [self.tokens[i] for i in self.alive[pos : pos + n]]
        if any(t.ends_sentence for t in first):
            return False
        word = first[0].norm
        grammatical_double = word in self.lex.keep_doubles or _is_number(word, self.lex)
        return not (n == 1 and not first[0].trail and grammatical_double)


def _is_number(word: str, lexicon: Lexicon) -> bool:
    return any(c.isdigit() for c in word) or word in lexicon.number_words


def _capitalize(token: _Token) -> None:
    token.word = token.word[:1].upper() + token.word[1:]


def _mend(tokens: list[_Token], alive: list[int], removals: list[_Removal], lexicon: Lexicon) -> None:
    """Fix punctuation and capitals around each removal, in text order.

    A removed sentence end moves to the word before; a filler bracketed by commas mid-clause takes
    both commas with it ("I, um, think" -> "I think"), but a comma after a sentence's first word stays
    ("So, um, we" -> "So, we"); the word that now starts a sentence gets its capital.
    """
    for removal in sorted(removals, key=lambda r: r.first):
        at = bisect.bisect_left(alive, removal.first)
        prev = tokens[alive[at - 1]] if at > 0 else None
        after = tokens[alive[at]] if at < len(alive) else None
        trail = tokens[removal.last].trail.rstrip("\"')]")
        if prev is not None and trail[-1:] in _SENTENCE_END:
            if not prev.ends_sentence:
                prev.trail = trail[-1]
            if after is not None:
                _capitalize(after)
        elif prev is None or prev.ends_sentence:
            if after is not None:
                _capitalize(after)
        elif trail and prev.trail in {",", ";", ":"}:
            prev_opens_sentence = at == 1 or tokens[alive[at - 2]].ends_sentence
            if not (prev_opens_sentence and prev.norm in lexicon.comma_openers):
                prev.trail = ""


@dataclass(frozen=True)
class KeptWord:
    """A word the rules kept: which input piece it came from, its span in the joined text, its new form."""

    piece: int
    start: int
    end: int
    text: str


@dataclass
class RulesResult:
    """Clean text for each input text (same order), the kept words, and the edits against the joined text."""

    texts: list[str]
    edits: list[Edit]
    words: list[KeptWord]


def clean_texts(texts: list[str], language: str) -> RulesResult:
    """Clean consecutive pieces of one transcript (its segments) as one text.

    The pieces are cleaned together so that a repetition across a segment boundary is still caught;
    each output piece holds the kept words that came from the same input piece. Edit offsets refer to
    the pieces stripped and joined by single spaces (`Transcript.verbatim_text`).
    """
    stripped = [t.strip() for t in texts]
    source, bounds = _join_pieces(stripped)
    tokens = _tokenize(source)
    lexicon = lexicon_for(language)
    passes = _run_rules(tokens, PASS_THROUGH if lexicon is None else lexicon)
    words = _kept_words(tokens, passes.alive, bounds)
    pieces: list[list[str]] = [[] for _ in stripped]
    for word in words:
        pieces[word.piece].append(word.text)
    return RulesResult(texts=[" ".join(p) for p in pieces], edits=_edits(tokens, passes.removals, source), words=words)


def _join_pieces(stripped: list[str]) -> tuple[str, list[int]]:
    """The non-empty pieces joined by single spaces, and each piece's offset in that text (-1 when empty)."""
    joined, bounds, offset = [], [], 0
    for piece in stripped:
        if piece:
            joined.append(piece)
            bounds.append(offset)
            offset += len(piece) + 1
        else:
            bounds.append(-1)
    return " ".join(joined), bounds


def _run_rules(tokens: list[_Token], lexicon: Lexicon) -> _Pass:
    """Every removal pass in order, then the punctuation and capitals mended; nothing for a pass-through language."""
    passes = _Pass(tokens, lexicon)
    if lexicon is not PASS_THROUGH:
        passes.fillers()
        passes.discourse_markers()
        passes.stutters()
        passes.repetitions()
        _mend(tokens, passes.alive, passes.removals, lexicon)
    return passes


def _kept_words(tokens: list[_Token], alive: list[int], bounds: list[int]) -> list[KeptWord]:
    """The surviving tokens (and punctuation-only ones) in text order, each tagged with the piece it came from."""
    kept = set(alive) | {i for i, t in enumerate(tokens) if not t.word}
    owners = [k for k, b in enumerate(bounds) if b >= 0]
    starts = [bounds[k] for k in owners]
    return [
        KeptWord(
            owners[bisect.bisect_right(starts, tokens[i].start) - 1], tokens[i].start, tokens[i].end, tokens[i].render()
        )
        for i in sorted(kept)
    ]


def _edits(tokens: list[_Token], removals: list[_Removal], source: str) -> list[Edit]:
    """One `Edit` per removal, in text order, with its offsets and text in the joined source."""
    return [
        Edit(
            start=tokens[r.first].start,
            end=tokens[r.last].end,
            text=source[tokens[r.first].start : tokens[r.last].end],
            reason=r.reason,
        )
        for r in sorted(removals, key=lambda r: r.first)
    ]
