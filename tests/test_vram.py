"""The shared memory planner: the widest precision within 90 % of the card, and the card's memory as torch reads it."""

from __future__ import annotations

import pytest

from transcriber import vram

LADDER = (("bf16", 16.0), ("8bit", 9.0), ("4bit", 5.0))


@pytest.mark.parametrize(
    ("card_gb", "expected"),
    [(24.0, "bf16"), (17.8, "bf16"), (17.7, "8bit"), (10.0, "8bit"), (9.9, "4bit"), (5.6, "4bit"), (5.5, None)],
)
def test_widest_fit_keeps_a_tenth_of_the_card_free(card_gb: float, expected: str | None) -> None:
    assert vram.widest_fit(LADDER, card_gb) == expected


def test_widest_fit_takes_the_first_that_fits_in_the_given_order() -> None:
    assert vram.widest_fit(iter((("a", 1.0), ("b", 0.5))), 2.0) == "a"
    assert vram.widest_fit((), 100.0) is None


def test_memory_reads_match_torch() -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed")
    assert vram.total_gb(False) == 0.0
    if torch.cuda.is_available():
        free = vram.free_gb()
        assert free is not None and 0 < free <= vram.total_gb(True)
    else:
        assert vram.free_gb() is None
