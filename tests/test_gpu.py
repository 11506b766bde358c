"""GPU discovery on sysfs trees laid out like the real /sys/class/kfd, and the gfx override it implies."""

from __future__ import annotations

from pathlib import Path

import pytest

from transcriber.host.gpu import KFD_NODES, detect, gfx_name, hsa_override

GB = 2**30


def _node(
    sys_root: Path, index: int, gfx_version: int, simd: int, render_minor: int, banks: list[tuple[int, int]]
) -> None:
    """One topology node as the kernel writes it: `properties` plus one `mem_banks/N/properties` per bank."""
    node = sys_root / KFD_NODES / str(index)
    node.mkdir(parents=True)
    (node / "properties").write_text(
        f"cpu_cores_count {0 if simd else 16}\nsimd_count {simd}\nmem_banks_count {len(banks)}\n"
        f"gfx_target_version {gfx_version}\nvendor_id {4098 if simd else 0}\ndevice_id 29822\n"
        f"location_id 768\ndrm_render_minor {render_minor}\nlocal_mem_size 0\nfw_version 2140\n"
    )
    for number, (heap, size) in enumerate(banks):
        bank = node / "mem_banks" / str(number)
        bank.mkdir(parents=True)
        (bank / "properties").write_text(
            f"heap_type {heap}\nsize_in_bytes {size}\nflags 0\nwidth 64\nmem_clk_max 1218\n"
        )


def _cpu(sys_root: Path) -> None:
    _node(sys_root, 0, 0, 0, 0, [(0, 64 * GB)])


@pytest.mark.parametrize(
    ("version", "gfx", "override", "vram"),
    [
        (110001, "gfx1101", "11.0.1", 12),
        (100300, "gfx1030", "10.3.0", 16),
        (120001, "gfx1201", "12.0.1", 16),
    ],
)
def test_one_discrete_card(tmp_path: Path, version: int, gfx: str, override: str, vram: int) -> None:
    _cpu(tmp_path)
    _node(tmp_path, 1, version, 120, 128, [(1, vram * GB)])
    gpu = detect("auto", tmp_path, nvidia_smi="no-such-nvidia-smi")
    assert (gpu.kind, gpu.gfx_target, gpu.render_node) == ("rocm", gfx, "/dev/dri/renderD128")
    assert gpu.vram_gb == vram
    assert hsa_override(gpu.gfx_target) == override


def test_discrete_card_wins_over_the_igpu(tmp_path: Path) -> None:
    _cpu(tmp_path)
    _node(tmp_path, 1, 100306, 4, 128, [(1, GB // 2)])  # Raphael iGPU: 512 MB carve-out
    _node(tmp_path, 2, 110001, 120, 129, [(1, 12 * GB), (2, 4 * 2**20)])
    gpu = detect("auto", tmp_path, nvidia_smi="no-such-nvidia-smi")
    assert (gpu.gfx_target, gpu.render_node) == ("gfx1101", "/dev/dri/renderD129")
    assert gpu.vram_bytes == 12 * GB + 4 * 2**20


def test_no_gpu_means_cpu(tmp_path: Path) -> None:
    _cpu(tmp_path)
    assert detect("auto", tmp_path, nvidia_smi="no-such-nvidia-smi").kind == "cpu"
    assert detect("auto", tmp_path / "empty", nvidia_smi="no-such-nvidia-smi").kind == "cpu"


def test_cpu_preference_ignores_the_card(tmp_path: Path) -> None:
    _node(tmp_path, 1, 110001, 120, 128, [(1, 12 * GB)])
    assert detect("cpu", tmp_path).kind == "cpu"


@pytest.mark.parametrize(
    ("version", "name", "override"),
    [
        (90010, "gfx90a", ""),
        (100301, "gfx1031", "10.3.0"),  # RX 6700 XT: runs gfx1030 kernels
        (110003, "gfx1103", "11.0.0"),  # Phoenix iGPU: no kernels of its own
        (110002, "gfx1102", "11.0.2"),
        (110501, "gfx1151", "11.5.1"),
    ],
)
def test_names_and_fallbacks(version: int, name: str, override: str) -> None:
    assert gfx_name(version) == name
    assert hsa_override(name) == override


def test_nvidia_from_nvidia_smi(tmp_path: Path) -> None:
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho 'NVIDIA GeForce RTX 4070, 12282'\n")
    fake.chmod(0o755)
    gpu = detect("auto", tmp_path / "no-sys", nvidia_smi=str(fake))
    assert (gpu.kind, gpu.name, round(gpu.vram_gb, 1)) == ("cuda", "NVIDIA GeForce RTX 4070", 12.0)
