"""What an AMD GPU needs from ROCm settings, from one table: the HSA override and the CTranslate2 allocator.

CTranslate2's ROCm wheels (ROCm 7.2) carry kernels for gfx1030, gfx1100-1102, gfx1150/1151 and gfx1200/1201;
those are native and run as themselves. A target outside the list runs the kernels of a family member
through `HSA_OVERRIDE_GFX_VERSION` (RDNA2 variants such as the RX 6700 XT and the RDNA2 APUs: 10.3.0; the
RDNA3 APUs such as the 780M: 11.0.0). CTranslate2's default allocator crashes on RDNA2 and RDNA4 (CTranslate2
issues 2012, 2021) and on gfx1030 silently drops 32-95 % of a transcript (issue 2090); `cub_caching` is the
known fix, so the ROCm image sets it for every card (it is CTranslate2's own default on CUDA) and this table
says where it is required rather than merely harmless.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Targets the CTranslate2 ROCm wheels and the ROCm PyTorch builds carry kernels for.
NATIVE = frozenset({"gfx1030", "gfx1100", "gfx1101", "gfx1102", "gfx1150", "gfx1151", "gfx1200", "gfx1201"})
#: For a target without kernels of its own, the family member whose kernels run on it.
_FAMILY_FALLBACK = {"gfx103": "10.3.0", "gfx110": "11.0.0", "gfx115": "11.5.0", "gfx120": "12.0.0"}
#: Families where the default allocator crashes or loses text: RDNA2 (gfx103x) and RDNA4 (gfx120x).
_ALLOCATOR_FAMILIES = {"gfx103": "RDNA2: crashes (CTranslate2 #2012), text dropped on gfx1030 (#2090)",
                       "gfx120": "RDNA4: crashes (CTranslate2 #2021)"}  # fmt: skip
ALLOCATOR = "cub_caching"


@dataclass(frozen=True)
class RocmAdvice:
    """`hsa_override`: the value to set ("" for none); `allocator_required`: whether the default allocator
    is known to fail here; `why`: one line for `invoke doctor`."""

    gfx: str
    hsa_override: str
    allocator_required: bool
    why: str


def _own_id(gfx: str) -> str:
    """gfx1101 -> 11.0.1: the override that names the card itself (a no-op, written to make it explicit)."""
    digits = gfx.removeprefix("gfx")
    return f"{digits[:-2]}.{int(digits[-2], 16)}.{int(digits[-1], 16)}"


def advice(gfx: str) -> RocmAdvice:
    """The table's row for `gfx`: native, family fallback, or unsupported."""
    family = gfx[:-1]
    allocator = _ALLOCATOR_FAMILIES.get(family, "")
    allocator_note = (
        f"CT2_CUDA_ALLOCATOR={ALLOCATOR} required ({allocator})"
        if allocator
        else f"CT2_CUDA_ALLOCATOR={ALLOCATOR} set as a safe default"
    )
    if gfx in NATIVE:
        why = f"{gfx} is a native target of the CTranslate2 and PyTorch ROCm builds: no override needed"
        return RocmAdvice(gfx, _own_id(gfx), bool(allocator), f"{why}; {allocator_note}")
    fallback = _FAMILY_FALLBACK.get(family, "")
    if fallback:
        why = f"{gfx} has no kernels of its own in the ROCm builds: it runs its family's ({fallback})"
        return RocmAdvice(gfx, fallback, bool(allocator), f"{why}; {allocator_note}")
    why = (
        f"{gfx} is outside the targets the CTranslate2 ROCm wheels support ({', '.join(sorted(NATIVE))}): "
        "faster-whisper runs on the CPU; the transformers stages may still use the GPU"
    )
    return RocmAdvice(gfx, "", False, why)
