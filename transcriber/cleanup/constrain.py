"""Deletion-only decoding: the LLM may emit only a subsequence of the chunk's words.

The output is read byte by byte against a small automaton: between words it may take spaces, punctuation
or the first byte of any later source word (in its original, lower-case or capitalised form); inside a
word only that word's next byte; after a word only punctuation or a space, so two words cannot fuse into
a third. Every reading the bytes so far allow is tracked at once -- "We" may be the word "we" or the start
of "We've", "3" the number 3 or the start of "3.5" -- so no real word is ever blocked by a shorter one.
A token is allowed when all its bytes keep some reading alive, found by walking a trie of the vocabulary's
byte strings; that makes the check independent of how a tokenizer happens to split words, spaces and
punctuation (byte-level BPE, SentencePiece with "▁", tekken). "Never invents text" is a property of the
decoder, not a hope about the model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

#: Marks a tokenizer may put around a word; they carry no words, so the model may add or drop them.
OPENING = ('"', "'", "(", "[", "¿", "¡", "«", "„", "“")
CLOSING = (",", ".", "?", "!", ";", ":", "…", '"', "'", ")", "]", "»", "”")
SPACES = (" ",)
_CORE = re.compile(r"^[\"'(\[¿¡«„“]*(.*?)[,.;:!?\"')\]…»”]*$", re.DOTALL)
_BYTE_TOKEN = re.compile(r"<0x([0-9A-Fa-f]{2})>")

# A reading: ("B", b) between words, the next word taken from source index b on; ("A", b) right after a
# word, where only punctuation or a space may follow; ("S", rest, then) in the middle of spelling something,
# `rest` the bytes still due and `then` the reading once they are spelled.
State = tuple


def core_word(token: str) -> str:
    """A whitespace token without its leading and trailing punctuation ("Friday." -> "Friday")."""
    match = _CORE.match(token)
    return match.group(1) if match else token


def _forms(word: str) -> set[str]:
    return {word, word.lower(), word[:1].upper() + word[1:]}


@cache
def _byte_decoder() -> dict[str, int]:
    """The inverse of GPT-2's bytes-to-unicode table, which byte-level BPE vocabularies are written in."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars, extra = list(printable), 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, chars, strict=True)}


def hf_token_bytes(tokenizer: object) -> dict[int, bytes]:
    """The text bytes of every ordinary token of a transformers tokenizer (special tokens left out).

    Byte-level BPE (GPT-2, Qwen, SmolLM2) writes bytes as printable stand-ins ("Ġ" for a space);
    SentencePiece (Llama, Phi-3, Gemma, Mistral) writes a space as "▁" and odd bytes as "<0xNN>".
    """
    vocab: dict[str, int] = tokenizer.get_vocab()  # type: ignore[attr-defined]
    added = getattr(tokenizer, "added_tokens_decoder", {})
    special = {i for i, t in added.items() if getattr(t, "special", True)}
    special |= set(getattr(tokenizer, "all_special_ids", []))
    byte_level = any(t.startswith("Ġ") for t in vocab) and not any(t.startswith("▁") for t in vocab)
    decoder = _byte_decoder()
    table: dict[int, bytes] = {}
    for text, index in vocab.items():
        if index in special:
            continue
        if match := _BYTE_TOKEN.fullmatch(text):
            table[index] = bytes([int(match.group(1), 16)])
        elif byte_level and all(c in decoder for c in text):
            table[index] = bytes(decoder[c] for c in text)
        else:
            table[index] = text.replace("▁", " ").encode()
    return table


class Vocabulary:
    """A tokenizer's tokens as a byte trie, built once per loaded model and shared by every chunk."""

    def __init__(self, token_bytes: Mapping[int, bytes]) -> None:
        self.root: dict = {}
        for index, data in token_bytes.items():
            if not data:
                continue
            node = self.root
            for byte in data:
                node = node.setdefault(byte, {})
            node.setdefault(None, []).append(index)
        self.token_bytes = dict(token_bytes)

    @classmethod
    def from_tokenizer(cls, tokenizer: object) -> Vocabulary:
        return cls(hf_token_bytes(tokenizer))


class DeletionOnlyConstraint:
    """Tracks every reading of the generated text against the source words and lists the allowed next tokens."""

    def __init__(self, vocabulary: Vocabulary, words: Iterable[str], eos_ids: Iterable[int]) -> None:
        self.vocabulary = vocabulary
        self.eos = set(eos_ids)
        self.starts: dict[int, list[tuple[int, bytes]]] = {}
        for index, word in enumerate(core_word(w) for w in words):
            for form in sorted(_forms(word)) if word else ():
                data = form.encode()
                self.starts.setdefault(data[0], []).append((index, data[1:]))
        self.opening = [p.encode() for p in OPENING]
        self.closing = [p.encode() for p in CLOSING]
        self.spaces = [s.encode() for s in SPACES]
        self.states: frozenset[State] = frozenset({("B", 0)})
        self._steps: dict[tuple[State, int], list[State]] = {}
        self._allowed: dict[frozenset[State], set[int]] = {}

    def _step(self, state: State, byte: int) -> list[State]:
        key = (state, byte)
        if key not in self._steps:
            self._steps[key] = list(self._successors(state, byte))
        return self._steps[key]

    def _successors(self, state: State, byte: int) -> Iterable[State]:
        kind = state[0]
        if kind == "S":
            _, rest, then = state
            if rest[0] == byte:
                yield ("S", rest[1:], then) if len(rest) > 1 else then
            return
        b = state[1]
        marks = [(p, ("A", b)) for p in self.closing] + [(s, ("B", b)) for s in self.spaces]
        if kind == "B":
            marks += [(p, ("B", b)) for p in self.opening]
            seen: set[bytes] = set()
            for index, rest in self.starts.get(byte, ()):
                if index >= b and rest not in seen:  # the earliest source word with this spelling covers later ones
                    seen.add(rest)
                    yield ("S", rest, ("A", index + 1)) if rest else ("A", index + 1)
        for mark, then in marks:
            if mark[0] == byte:
                yield ("S", mark[1:], then) if len(mark) > 1 else then

    def _advance_states(self, states: frozenset[State], byte: int) -> frozenset[State]:
        found = [s for state in states for s in self._step(state, byte)]
        return frozenset(_prune(found))

    def _expected_bytes(self, states: frozenset[State]) -> set[int]:
        expected: set[int] = set()
        for state in states:
            if state[0] == "S":
                expected.add(state[1][0])
                continue
            expected.update(m[0] for m in [*self.closing, *self.spaces])
            if state[0] == "B":
                expected.update(p[0] for p in self.opening)
                expected.update(first for first, words in self.starts.items() if words[-1][0] >= state[1])
        return expected

    def _walk(self, node: dict, states: frozenset[State], found: set[int]) -> None:
        found.update(node.get(None, ()))
        for byte in self._expected_bytes(states):
            child = node.get(byte)
            if child is not None and (after := self._advance_states(states, byte)):
                self._walk(child, after, found)

    def allowed(self) -> set[int]:
        """Token ids that keep at least one reading alive, plus the end where no word is half spelled."""
        if self.states not in self._allowed:
            found: set[int] = set()
            for byte in self._expected_bytes(self.states):
                child = self.vocabulary.root.get(byte)
                if child is not None and (after := self._advance_states(self.states, byte)):
                    self._walk(child, after, found)
            if any(s[0] != "S" for s in self.states) or not found:  # no reading left: end rather than emit junk
                found |= self.eos
            self._allowed[self.states] = found
        return self._allowed[self.states]

    def advance(self, token: int) -> None:
        """Take the token the model chose (always one of `allowed()`)."""
        if token in self.eos:
            return
        for byte in self.vocabulary.token_bytes.get(token, b""):
            self.states = self._advance_states(self.states, byte)


def _prune(states: list[State]) -> Iterable[State]:
    """Drop readings another one covers: of two with the same future, the one at the earlier source index."""
    best: dict[tuple[Any, ...], int] = {}
    for state in states:
        key: tuple[Any, ...]
        if state[0] == "S":
            key, b = ("S", state[1], state[2][0]), state[2][1]
        else:
            key, b = (state[0],), state[1]
        best[key] = min(b, best.get(key, b))
    for key, b in best.items():
        yield ("S", key[1], (key[2], b)) if key[0] == "S" else (key[0], b)


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
