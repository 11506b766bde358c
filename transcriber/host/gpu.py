"""GPU discovery on the host: AMD from the KFD topology in sysfs, NVIDIA from nvidia-smi, else the CPU.

The KFD topology is what ROCm itself reads: each node's `properties` has `gfx_target_version` (110001 is
gfx1101; CPU nodes say 0), `drm_render_minor` (128 is /dev/dri/renderD128), and its memory banks give
the VRAM. With an integrated GPU beside a card, the one with the most VRAM is the one to use.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from transcriber.errors import ConfigError
from transcriber.host.rocm import advice

KFD_NODES = "class/kfd/kfd/topology/nodes"
#: What `--gpu` and TRANSCRIBER_GPU accept; `auto` is resolved by `detect` alone, for every task.
GPU_CHOICES = ("auto", "rocm", "cuda", "cpu")


@dataclass(frozen=True)
class Gpu:
    """What setup found: `kind` is "rocm", "cuda" or "cpu"."""

    kind: str
    name: str = "CPU"
    gfx_target: str = ""
    vram_bytes: int = 0
    render_node: str = ""

    @property
    def vram_gb(self) -> float:
        return self.vram_bytes / 2**30


def gfx_name(version: int) -> str:
    """110001 -> "gfx1101", 90010 -> "gfx90a": major, minor, then the stepping in hex."""
    major, minor, step = version // 10000, (version // 100) % 100, version % 100
    return f"gfx{major}{minor}{step:x}"


def hsa_override(gfx: str) -> str:
    """The HSA_OVERRIDE_GFX_VERSION for a target, from the table in `transcriber.host.rocm`."""
    return advice(gfx).hsa_override


def _properties(path: Path) -> dict[str, int]:
    values = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition(" ")
        if value.strip().lstrip("-").isdigit():
            values[key] = int(value)
    return values


def _vram(node: Path) -> int:
    total = 0
    for bank in sorted((node / "mem_banks").glob("*/properties")):
        props = _properties(bank)
        if props.get("heap_type") in (1, 2):  # frame buffer, public or private: the card's own memory
            total += props.get("size_in_bytes", 0)
    return total


def amd_gpus(sys_root: Path = Path("/sys")) -> list[Gpu]:
    """Every AMD GPU node in the KFD topology, largest VRAM first; CPU nodes are skipped."""
    found = []
    for node in sorted((sys_root / KFD_NODES).glob("*")):
        props_file = node / "properties"
        if not props_file.is_file():
            continue
        props = _properties(props_file)
        version = props.get("gfx_target_version", 0)
        if version == 0 or props.get("simd_count", 0) == 0:
            continue
        gfx = gfx_name(version)
        minor = props.get("drm_render_minor", 0)
        found.append(
            Gpu(
                kind="rocm",
                name=f"AMD {gfx}",
                gfx_target=gfx,
                vram_bytes=_vram(node),
                render_node=f"/dev/dri/renderD{minor}" if minor else "",
            )
        )
    return sorted(found, key=lambda g: g.vram_bytes, reverse=True)


def nvidia_gpus(nvidia_smi: str = "nvidia-smi") -> list[Gpu]:
    """NVIDIA GPUs as nvidia-smi lists them; none where it is missing or fails."""
    if shutil.which(nvidia_smi) is None:
        return []
    try:
        result = subprocess.run(
            [nvidia_smi, "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=20, check=True,
        )  # fmt: skip
    except (subprocess.SubprocessError, OSError):
        return []
    gpus = []
    for line in result.stdout.strip().splitlines():
        name, _, mib = line.rpartition(",")
        if name and mib.strip().isdigit():
            gpus.append(Gpu(kind="cuda", name=name.strip(), vram_bytes=int(mib) * 2**20))
    return gpus


def detect_choice(prefer: str) -> str:
    """`prefer` if it is one of GPU_CHOICES, else a clear error; a bogus value never reaches a file."""
    if prefer not in GPU_CHOICES:
        raise ConfigError(f"--gpu {prefer}: choose one of {', '.join(GPU_CHOICES)}")
    return prefer


def detect(prefer: str = "auto", sys_root: Path = Path("/sys"), nvidia_smi: str = "nvidia-smi") -> Gpu:
    """The GPU to use: `prefer` is auto, rocm, cuda or cpu; auto tries AMD, then NVIDIA, then the CPU.

    The one place `auto` is decided: setup, build, transcribe and doctor all come here.
    """
    if detect_choice(prefer) == "cpu":
        return Gpu(kind="cpu")
    if prefer in ("auto", "rocm") and (amd := amd_gpus(sys_root)):
        return amd[0]
    if prefer in ("auto", "cuda") and (nvidia := nvidia_gpus(nvidia_smi)):
        return nvidia[0]
    return Gpu(kind="cpu")
