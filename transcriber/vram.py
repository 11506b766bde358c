"""GPU memory for every model kind: one read of the card and one rule for the widest precision that fits.

The cleanup LLM, the audio LLMs, Seamless and `--cleanup auto` each choose from catalog estimates; with
the headroom and the memory read kept here, they cannot drift apart (one planner at 0.9, another at 0.85).
"""

from __future__ import annotations

import glob
import importlib.util
from collections.abc import Iterable

#: Share of the card a model may plan on: catalog estimates leave out the CUDA/HIP context, the allocator's
#: fragmentation and the activations of a long input.
HEADROOM = 0.9


def total_gb(gpu: bool) -> float:
    """Total memory of GPU 0 in GB; 0.0 without a GPU (so a planner given it finds nothing fits)."""
    if not gpu:
        return 0.0
    import torch

    return torch.cuda.get_device_properties(0).total_memory / 2**30


def free_gb() -> float | None:
    """Free memory on GPU 0 in GB as torch sees it (ROCm or CUDA); None without torch or a GPU it can use.

    Free rather than total where other programs may hold part of the card before anything of ours loads.
    """
    if importlib.util.find_spec("torch") is None or not gpu_device_nodes():
        return None  # importing torch only to hear "no GPU" costs 1-2 s and 175 MB on a CPU machine
    import torch

    if not torch.cuda.is_available():
        return None
    free, _ = torch.cuda.mem_get_info(0)
    return free / 2**30


def gpu_device_nodes() -> list[str]:
    """The GPU device nodes this process can see (ROCm's /dev/kfd, NVIDIA's /dev/nvidia*): without one, no
    GPU library can reach a card, so there is nothing to ask."""
    return [*glob.glob("/dev/kfd"), *glob.glob("/dev/nvidia[0-9]*")]


def usable_gb(vram_gb: float) -> float:
    """What a model may plan on out of `vram_gb`: the card less the headroom."""
    return vram_gb * HEADROOM


def widest_fit(needs: Iterable[tuple[str, float]], vram_gb: float) -> str | None:
    """The first precision of `needs` (widest first, with its GB estimate) that fits `vram_gb`; None if none."""
    budget = usable_gb(vram_gb)
    return next((precision for precision, need in needs if need <= budget), None)
