"""The repetition-loop guard collapses runaway loops and leaves ordinary repetition alone."""

from transcriber.engines.guards import collapse_loops


def test_collapses_a_looping_phrase() -> None:
    looped = "Thanks for coming. " + "Thank you. " * 12 + "Bye."
    assert collapse_loops(looped) == "Thanks for coming. Thank you. Bye."


def test_collapses_a_looping_word() -> None:
    assert collapse_loops("no no no no no no no way") == "no way"


def test_keeps_ordinary_repetition() -> None:
    text = "No, no, no, I said the twenty twenty plan."
    assert collapse_loops(text) == text
