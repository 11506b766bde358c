"""The rules cleanup: what it removes, what it must never touch, and that it only ever deletes."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transcriber.cleanup.lexicon import LEXICONS
from transcriber.cleanup.rules import clean_texts
from transcriber.transcript import Edit

ENGLISH = LEXICONS["en"]


def clean_text(text: str, language: str = "en") -> tuple[str, list[Edit]]:
    """One text through the rules: its clean text and the edits against it."""
    result = clean_texts([text], language)
    return result.texts[0], result.edits


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Um, so we need to, uh, finalize the budget.", "So we need to finalize the budget."),
        ("We've, we've grown to forty people.", "We've grown to forty people."),
        ("The, uh, the team will do it.", "The team will do it."),
        ("Can you, can you hear me?", "Can you hear me?"),
        ("I think, you know, the team in Berlin can, can handle it.", "I think the team in Berlin can handle it."),
        ("Well, I mean, I started in 2019.", "Well, I started in 2019."),
        ("I, um, think so.", "I think so."),
        ("So, um, we go.", "So, we go."),
        ("It was fine, you know.", "It was fine."),
        ("Hmm. Call Dr. Patel at 3.30.", "Call Dr. Patel at 3.30."),
        ("Th- the end.", "The end."),
        ("Er, and buy milk.", "And buy milk."),
    ],
)
def test_removes_fillers_and_repetitions(text: str, expected: str) -> None:
    assert clean_text(text)[0] == expected


@pytest.mark.parametrize(
    "text",
    [
        "You know what I mean?",
        "Do you know him?",
        "I mean it.",
        "I like people who like dogs.",
        "It looks like rain, like yesterday.",
        "He had had enough.",
        "I know that that is true.",
        "It was twenty twenty when we met.",
        "Call 555 555 0100.",
        "Sarah and Sarah's brother came.",
    ],
)
def test_leaves_meaningful_words_alone(text: str) -> None:
    cleaned, edits = clean_text(text)
    assert cleaned == text
    assert edits == []


def test_edits_name_the_span_and_reason() -> None:
    text = "Um, we've, we've done it, you know."
    cleaned, edits = clean_text(text)
    assert cleaned == "We've done it."
    assert [(e.text, e.reason) for e in edits] == [
        ("Um,", "filler"),
        ("we've,", "repetition"),
        ("you know.", "discourse marker"),
    ]
    for edit in edits:
        assert text[edit.start : edit.end] == edit.text


def test_languages_without_a_lexicon_pass_through() -> None:
    polish = "Um, no, ee, to jest er dobre, dobre."
    assert clean_text(polish, "pl") == (polish, [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # 1. set off by punctuation mid-sentence
        ("I think, you know, the team can do it.", "I think the team can do it."),
        ("It was, like, huge.", "It was huge."),
        ("It was, sort of, a mess.", "It was a mess."),
        # 2. at a sentence edge, a comma on the inner side
        ("You know, it broke again.", "It broke again."),
        ("I mean, it broke again on Monday.", "It broke again on Monday."),
        ("Like, nobody came.", "Nobody came."),
        ("It was fine, you know.", "It was fine."),
        # 3. after a conjunction, closed by a comma
        ("And you know, the server was down again.", "And the server was down again."),
        ("The report was late but I mean, it was good.", "The report was late but it was good."),
        # 4. before a hesitation, after a comma or a conjunction
        ("And you know uh the server was down again.", "And the server was down again."),
        ("The report, like uh the one Jenny sent, was late.", "The report, the one Jenny sent, was late."),
    ],
)
def test_removes_discourse_markers_in_filler_contexts(text: str, expected: str) -> None:
    cleaned, edits = clean_text(text)
    assert cleaned == expected
    assert "discourse marker" in {e.reason for e in edits}


@pytest.mark.parametrize(
    "text",
    [
        "It looks like rain, like yesterday.",
        "I mean it.",
        "It worked, sort of.",
        "What kind of, say, budget do we have?",
        "And you know what I mean.",
        "She was like, no way.",
        "And you know the server was down again.",
        "The report that, like Jenny sent.",
        "I mean it broke again on Monday.",
        "It is a kind of magic.",
    ],
)
def test_keeps_discourse_markers_that_may_be_meant(text: str) -> None:
    assert clean_text(text) == (text, [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Do you know, uh, the server name?", "Do you know the server name?"),
        ("I like, uh, pizza.", "I like pizza."),
        ("You know, uh, what time it is?", "What time it is?"),
    ],
)
def test_a_hesitation_alone_does_not_take_a_meant_marker(text: str, expected: str) -> None:
    assert clean_text(text)[0] == expected


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("de", "Ähm, wir haben, äh, das Budget geprüft.", "Wir haben das Budget geprüft."),
        ("fr", "Euh, nous nous sommes, euh, trompés.", "Nous nous sommes trompés."),
        ("es", "Eh, el informe, este, llega el lunes.", "El informe llega el lunes."),
        ("it", "Ehm, abbiamo, cioè, finito ieri.", "Abbiamo finito ieri."),
        ("pt", "Hum, o projeto, tipo, atrasou.", "O projeto atrasou."),
        ("nl", "Ehm, we hebben, weet je, het budget.", "We hebben het budget."),
        ("pt-BR", "Ele comprou um carro, hum, novo.", "Ele comprou um carro novo."),
    ],
)
def test_each_language_has_its_own_fillers(language: str, text: str, expected: str) -> None:
    assert clean_text(text, language)[0] == expected


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("de", "Er kam um drei, um zu helfen."),  # English "er" and "um" are German words
        ("pt", "Ele tem um carro e um barco."),  # "um" is Portuguese "a"
        ("es", "Este año fue difícil."),  # "este" is "this"
        ("pt", "O problema é, sem dúvida, o prazo."),  # "é" is "is"
    ],
)
def test_a_filler_of_one_language_is_a_word_in_another(language: str, text: str) -> None:
    assert clean_text(text, language) == (text, [])


def test_lexicons_never_leak_across_languages() -> None:
    assert clean_text("Euh, on part.", "en")[0] == "Euh, on part."
    assert clean_text("Um, wir gehen.", "de")[0] == "Um, wir gehen."


def test_segments_are_cleaned_together_and_split_back() -> None:
    result = clean_texts(["We need to, uh, we need to", " finish the report. Um,", "", "Okay."], "en")
    assert result.texts == ["We need to", "finish the report.", "", "Okay."]
    joined = "We need to, uh, we need to finish the report. Um, Okay."
    assert [joined[e.start : e.end] for e in result.edits] == [e.text for e in result.edits]


_WORDS = st.sampled_from(
    [*sorted(ENGLISH.fillers)[:6], "you", "know", "I", "mean", "the", "we", "can", "like", "that", "twelve", "Berlin"]
)
_PUNCT = st.sampled_from(["", "", "", ",", ".", "?", "-"])


def _words(text: str) -> list[str]:
    return re.findall(r"[\w']+", text.lower())


def _is_subsequence(small: list[str], big: list[str]) -> bool:
    it = iter(big)
    return all(word in it for word in small)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(_WORDS, _PUNCT), min_size=0, max_size=40))
def test_output_is_always_a_subsequence_of_the_input(pairs: list[tuple[str, str]]) -> None:
    text = " ".join(word + punct for word, punct in pairs)
    cleaned, edits = clean_text(text)
    assert _is_subsequence(_words(cleaned), _words(text))
    assert len(_words(cleaned)) + sum(len(_words(e.text)) for e in edits) == len(_words(text))
    assert not set(_words(cleaned)) & ENGLISH.fillers
