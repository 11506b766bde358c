"""Pieces of the LLM stage that need no model: the VRAM plan, chunking, the guard on crafted answers."""

from __future__ import annotations

import pytest

from transcriber.catalog import LLM_CATALOG
from transcriber.cleanup.chunks import chunk_words
from transcriber.cleanup.edit_guard import check, strip_wrappers
from transcriber.cleanup.llm import plan_quant
from transcriber.errors import ConfigError


@pytest.mark.parametrize(
    ("model", "vram", "expected"),
    [
        ("qwen2.5-3b-instruct", 12.0, "none"),
        ("phi-3-mini", 12.0, "none"),
        ("gemma-2-2b", 12.0, "none"),
        ("phi-3-mini", 8.0, "8bit"),
        ("qwen2.5-3b-instruct", 4.0, "4bit"),
        ("phi-3-mini", 4.0, "4bit"),
    ],
)
def test_auto_quant_fits_the_card(model: str, vram: float, expected: str) -> None:
    assert plan_quant("auto", "cuda", LLM_CATALOG[model], vram) == expected


def test_too_small_a_card_is_told_before_loading() -> None:
    with pytest.raises(ConfigError, match=r"needs 2\.8 GB even in 4-bit"):
        plan_quant("auto", "cuda", LLM_CATALOG["phi-3-mini"], 2.0)


def test_cpu_runs_unquantised_and_refuses_bitsandbytes() -> None:
    assert plan_quant("auto", "cpu", LLM_CATALOG["qwen2.5-3b-instruct"], 0.0) == "none"
    with pytest.raises(ConfigError, match="needs a GPU"):
        plan_quant("4bit", "cpu", LLM_CATALOG["qwen2.5-3b-instruct"], 0.0)


def test_explicit_choice_wins_on_a_gpu() -> None:
    assert plan_quant("8bit", "cuda", LLM_CATALOG["gemma-2-2b"], 24.0) == "8bit"


def test_chunks_are_whole_sentences_within_the_limit() -> None:
    words = "One two three. Four five six seven. Eight nine. Ten.".split()
    chunks = chunk_words(words, max_words=6)
    assert [" ".join(words[i] for i in c) for c in chunks] == [
        "One two three.",
        "Four five six seven. Eight nine.",
        "Ten.",
    ]


def test_a_long_sentence_is_cut_at_a_comma() -> None:
    words = [*("a " * 8 + "b, " + "c " * 20).split(), "end."]
    chunks = chunk_words(words, max_words=10)
    assert all(len(c) <= 10 for c in chunks)
    assert sum(len(c) for c in chunks) == len(words)
    assert words[chunks[0][-1]] == "b,"


@pytest.mark.parametrize(
    ("answer", "ok"),
    [
        ("We need to call Sarah about the deadline.", True),
        ("Sure! Here is the cleaned transcript: We need to call Sarah about the deadline.", True),
        ("We need to call Sarah.", False),
        ("We need to email Sarah about the deadline.", False),
        ("", False),
    ],
)
def test_guard_on_crafted_answers(answer: str, ok: bool) -> None:
    source = "We should, we need to, uh, call Sarah about the deadline."
    assert check(source, answer).ok is ok


def test_wrappers_go() -> None:
    assert strip_wrappers('<think>hmm</think> "Hello there."') == "Hello there."
