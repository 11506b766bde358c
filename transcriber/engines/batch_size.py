"""`--batch-size auto`: how many speech chunks go through the model at once.

On a GPU, one chunk at a time leaves most of the card idle (faster-whisper's own table: large-v2 on an RTX
3070 Ti, 63 s sequential against 17 s batched for 13 minutes of audio), so auto fills the free memory the
model leaves: each chunk in a batch costs a share of the model's own footprint in activations and beams.
On the CPU the choice is `CPU_BATCH_SIZE`, taken from `scripts/bench_batch.py` (see the README's table).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from transcriber import vram

#: From scripts/bench_batch.py on 2 busy CPU cores (tiny.en, int8): on the three example recordings batched
#: 8 ran at real-time factor 0.275 against 0.420 sequential at the same WER (0.103); on one 112 s recording
#: 0.136 against 0.218, WER 0.073 against 0.115. Batching was faster at every size tried (4, 8, 16).
CPU_BATCH_SIZE = 8
MAX_BATCH_SIZE = 16
_UNKNOWN_FREE_BATCH = 4
_USABLE_SHARE = 0.8
_PER_CHUNK_SHARE = 0.12
_MIN_PER_CHUNK_GB = 0.25


def free_vram_gb() -> float | None:
    """Free memory on GPU 0 in GB: torch's view if it sees a GPU (ROCm or CUDA), else nvidia-smi's, else None."""
    if (free := vram.free_gb()) is not None:
        return free
    if shutil.which("nvidia-smi") is None:
        return None
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=memory.free", "--format=csv,noheader,nounits", "--id=0"],
            capture_output=True, text=True, timeout=20, check=True,
        ).stdout  # fmt: skip
        return int(out.strip().splitlines()[0]) / 1024
    except (subprocess.SubprocessError, OSError, ValueError, IndexError):
        return None


def gpu_batch_size(model_vram_gb: float, free_gb: float | None) -> int:
    """Chunks per batch that fit beside the model in `free_gb` (most of it; the rest is headroom), 1 to 16."""
    if free_gb is None:
        return _UNKNOWN_FREE_BATCH
    per_chunk = max(_MIN_PER_CHUNK_GB, model_vram_gb * _PER_CHUNK_SHARE)
    fits = int((free_gb * _USABLE_SHARE - model_vram_gb) // per_chunk)
    return max(1, min(MAX_BATCH_SIZE, fits))


def whisper_vram_gb(model_name: str, model_path: Path) -> float:
    """The catalog's VRAM estimate, or for a model outside it half again the size of its weights."""
    from transcriber.catalog import CATALOG

    if model_name in CATALOG:
        return CATALOG[model_name].vram_gb
    weights = model_path / "model.bin"
    return 1.5 * weights.stat().st_size / 2**30 if weights.is_file() else 2.0


def seamless_vram_gb(model_name: str) -> float:
    """The catalog's bfloat16 estimate; a model folder is taken to be the size of v2 large."""
    from transcriber.catalog import DEFAULT_SEAMLESS, SEAMLESS_CATALOG

    return SEAMLESS_CATALOG.get(model_name, SEAMLESS_CATALOG[DEFAULT_SEAMLESS]).vram_gb["bfloat16"]


def resolve_batch_size(requested: int | str, device: str, model_vram_gb: float) -> int:
    """`requested` as a number: itself if given, else the GPU fit or the CPU's measured choice."""
    if requested != "auto":
        return int(requested)
    if device == "cpu":
        return CPU_BATCH_SIZE
    return gpu_batch_size(model_vram_gb, free_vram_gb())
