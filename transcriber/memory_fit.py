"""Whether the cleanup LLM fits beside the recogniser, for models that wait for later files (a watcher's).

A run frees the recogniser before its round of LLM cleanup: it never needs it again. A watcher does, for
the next recording that arrives, so freeing it would load it anew for every group. It stays loaded when the
LLM fits in what is free with the recogniser loaded (the memory read then already leaves it out): GPU
memory on a GPU, RAM on the CPU, each within the planners' headroom (`transcriber.vram`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from transcriber.catalog import LLM_CATALOG
from transcriber.settings import Settings
from transcriber.vram import free_gb, total_gb, usable_gb

#: On the CPU the LLM loads in float32: twice the weights of its bf16 estimate.
CPU_FLOAT32 = 2.0


@dataclass(frozen=True)
class Fit:
    together: bool
    #: One line for the log: the two numbers and what follows from them.
    reason: str


def llm_need_gb(name: str, gpu: bool, quant: str) -> float | None:
    """The catalog's estimate for cleanup model `name` at the precision it will load with; None when the
    catalog does not know it (a folder or a file given by path)."""
    info = LLM_CATALOG.get(name)
    if info is None:
        return None
    if not gpu:
        return info.vram_bf16 * CPU_FLOAT32
    return {"none": info.vram_bf16, "8bit": info.vram_8bit, "4bit": info.vram_4bit}[quant]


def available_ram_gb(root: Path = Path("/")) -> float:
    """RAM this process may still take, in GB: the kernel's MemAvailable, or less where a cgroup (a
    container's memory limit) leaves less."""
    available = float("inf")
    meminfo = (root / "proc/meminfo").read_text(encoding="ascii")
    for line in meminfo.splitlines():
        if line.startswith("MemAvailable:"):
            available = int(line.split()[1]) / 2**20
    try:
        limit = (root / "sys/fs/cgroup/memory.max").read_text(encoding="ascii").strip()
        used = int((root / "sys/fs/cgroup/memory.current").read_text(encoding="ascii"))
        if limit != "max":
            available = min(available, (int(limit) - used) / 2**30)
    except (OSError, ValueError):
        pass
    return available


def llm_fits_beside(settings: Settings, llm: str) -> Fit:
    """Whether cleanup model `llm` fits beside the recogniser that is loaded now."""
    free = None if settings.device == "cpu" else free_gb()
    gpu = free is not None
    if gpu:
        from transcriber.cleanup.llm import plan_quant

        quant = plan_quant(settings.llm_quant, "cuda", LLM_CATALOG.get(llm), total_gb(True))
    else:
        free, quant = available_ram_gb(), "none"
    assert free is not None
    need = llm_need_gb(llm, gpu, quant)
    where = "GPU memory" if gpu else "RAM"
    if need is None:
        return Fit(False, f"cleanup model {llm}: no size estimate (not in the catalog), so the recogniser is "
                          "freed before each round of cleanup and loaded again after it")  # fmt: skip
    together = need <= usable_gb(free)
    verdict = ("both stay loaded between recordings" if together else
               "the recogniser is freed before each round of cleanup and loaded again after it")  # fmt: skip
    return Fit(together, f"cleanup model {llm} needs about {need:.1f} GB and {free:.1f} GB of {where} is free "
                         f"beside the recogniser: {verdict}")  # fmt: skip
