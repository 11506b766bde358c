"""`--batch-size auto`: the GPU fit from free VRAM and model size, the CPU's measured choice, and the run's record."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import load_transcripts
from transcriber.engines.batch_size import CPU_BATCH_SIZE, MAX_BATCH_SIZE, gpu_batch_size, resolve_batch_size


@pytest.mark.parametrize(
    ("model_gb", "free_gb", "expected"),
    [
        (4.5, 11.5, 8),  # large-v3 on a 12 GB card: faster-whisper's own benchmark batch
        (2.5, 11.0, MAX_BATCH_SIZE),  # large-v3-turbo: room for more than the cap
        (4.5, 5.0, 1),  # a card nearly full: one chunk at a time rather than none
        (0.5, None, 4),  # free memory unknown: a modest batch
    ],
)
def test_gpu_fit(model_gb: float, free_gb: float | None, expected: int) -> None:
    assert gpu_batch_size(model_gb, free_gb) == expected


def test_given_sizes_win_and_the_cpu_takes_its_measured_choice() -> None:
    assert resolve_batch_size(3, "cuda", 4.5) == 3
    assert resolve_batch_size("auto", "cpu", 4.5) == CPU_BATCH_SIZE


def test_a_default_run_records_the_resolved_size(example_run: Path) -> None:
    for data in load_transcripts(example_run).values():
        assert data["settings"]["batch_size"] == CPU_BATCH_SIZE
