"""Deletion-only decoding: the LLM may emit only a subsequence of the chunk's words.

At each step the allowed next tokens are: the next token of a word already begun; the first token of
any later source word (in its original, lower-case or capitalised form); a punctuation mark; or the end.
Every word is spelled with the token sequence the tokenizer gives it after a space, so the model can
drop fillers, repetitions and false starts and change case and punctuation, but cannot add, reorder or
alter a word. This makes "never invents text" a property of the decoder, not a hope about the model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

PUNCTUATION = (",", ".", "?", "!", ";", ":")
_ANCHOR = "x"
_CORE = re.compile(r"^[\"'(\[¿¡]*(.*?)[,.;:!?\"')\]…]*$", re.DOTALL)


def core_word(token: str) -> str:
    """A whitespace token without its leading and trailing punctuation ("Friday." -> "Friday")."""
    match = _CORE.match(token)
    return match.group(1) if match else token


def _forms(word: str) -> set[str]:
    return {word, word.lower(), word[:1].upper() + word[1:]}


def _spelled(tokenizer: object, text: str, after_space: bool) -> tuple[int, ...]:
    """Token ids of `text` as it reads after a space (mid-sentence) or at the very start."""
    encode = tokenizer.encode  # type: ignore[attr-defined]
    if not after_space:
        return tuple(encode(text, add_special_tokens=False))
    base = encode(_ANCHOR, add_special_tokens=False)
    full = encode(f"{_ANCHOR} {text}", add_special_tokens=False)
    if full[: len(base)] == base and len(full) > len(base):
        return tuple(full[len(base) :])
    return tuple(encode(f" {text}", add_special_tokens=False))


@dataclass(frozen=True)
class _Word:
    index: int
    spellings: tuple[tuple[int, ...], ...]


class DeletionOnlyConstraint:
    """Tracks where the generated text stands against the source words and lists the allowed next tokens.

    State: `boundary` is the lowest source index the next word may take (a later word can always be
    chosen, so one boundary stands for all); `partial` holds the words begun but not finished, as
    (source index, spelling, tokens emitted so far).
    """

    def __init__(self, tokenizer: object, words: Iterable[str], eos_ids: Iterable[int]) -> None:
        cores = [core_word(w) for w in words]
        self.words = [
            _Word(
                i,
                tuple(
                    {_spelled(tokenizer, f, True) for f in _forms(c)}
                    | {_spelled(tokenizer, f, False) for f in _forms(c)}
                ),
            )
            for i, c in enumerate(cores)
            if c
        ]
        self.punctuation = {t for p in PUNCTUATION for t in _spelled(tokenizer, p, False)[:1]}
        self.eos = set(eos_ids)
        self.boundary = 0
        self.partial: list[tuple[int, tuple[int, ...], int]] = []

    def allowed(self) -> set[int]:
        if self.partial:
            return {spelling[done] for _, spelling, done in self.partial}
        allowed = set(self.punctuation) | self.eos
        for word in self.words:
            if word.index >= self.boundary:
                allowed.update(s[0] for s in word.spellings if s)
        return allowed

    def advance(self, token: int) -> None:
        """Take the token the model chose (always one of `allowed()`)."""
        if self.partial:
            candidates = [(i, s, d) for i, s, d in self.partial if s[d] == token]
        elif token in self.punctuation or token in self.eos:
            return
        else:
            candidates = [
                (w.index, s, 0)
                for w in self.words
                if w.index >= self.boundary
                for s in w.spellings
                if s and s[0] == token
            ]
        finished = [i for i, s, d in candidates if d + 1 == len(s)]
        self.partial = [(i, s, d + 1) for i, s, d in candidates if d + 1 < len(s)]
        if finished:
            # A word ended here; if a longer spelling could still go on, the shorter reading wins, since a
            # new word or punctuation must follow and the longer one would need this token again.
            self.boundary = min(finished) + 1
            self.partial = []


class DeletionOnlyLogitsProcessor:
    """A transformers logits processor that masks every token `DeletionOnlyConstraint` does not allow."""

    def __init__(self, constraint: DeletionOnlyConstraint, prompt_length: int) -> None:
        self.constraint = constraint
        self.prompt_length = prompt_length
        self.seen = prompt_length

    def __call__(self, input_ids, scores):  # type: ignore[no-untyped-def]
        import torch

        for token in input_ids[0, self.seen :].tolist():
            self.constraint.advance(token)
        self.seen = input_ids.shape[1]
        mask = torch.full_like(scores, float("-inf"))
        allowed = [t for t in self.constraint.allowed() if t < scores.shape[-1]]
        mask[:, allowed] = 0.0
        return scores + mask
