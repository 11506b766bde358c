"""What a watcher's slots read to decide whether the cleanup LLM fits beside the recogniser: the RAM left,
a container's memory limit included, and the LLM's catalog size at the precision it loads with."""

from __future__ import annotations

from pathlib import Path

from transcriber.catalog import LLM_CATALOG
from transcriber.memory_fit import available_ram_gb, llm_need_gb


def _machine(root: Path, available_kb: int, limit: str | None, used: int = 0) -> Path:
    (root / "proc").mkdir(parents=True)
    (root / "proc" / "meminfo").write_text(f"MemTotal: 99999999 kB\nMemAvailable: {available_kb} kB\n")
    if limit is not None:
        (root / "sys/fs/cgroup").mkdir(parents=True)
        (root / "sys/fs/cgroup/memory.max").write_text(f"{limit}\n")
        (root / "sys/fs/cgroup/memory.current").write_text(f"{used}\n")
    return root


def test_the_ram_left_is_the_kernels_unless_a_container_limit_leaves_less(tmp_path: Path) -> None:
    assert available_ram_gb(_machine(tmp_path / "bare", 8 * 2**20, None)) == 8.0
    assert available_ram_gb(_machine(tmp_path / "unlimited", 8 * 2**20, "max", 2**30)) == 8.0
    limited = _machine(tmp_path / "limited", 8 * 2**20, str(3 * 2**30), 2**30)
    assert available_ram_gb(limited) == 2.0, "a 3 GB limit with 1 GB in use leaves 2 GB, whatever the host has"


def test_the_llms_need_follows_where_and_how_it_loads() -> None:
    info = LLM_CATALOG["smollm2-135m-instruct"]
    assert llm_need_gb(info.name, gpu=False, quant="none") == 2 * info.vram_bf16, "float32 on the CPU"
    assert llm_need_gb(info.name, gpu=True, quant="4bit") == info.vram_4bit
    assert llm_need_gb("/models/my-own-llm", gpu=False, quant="none") is None
