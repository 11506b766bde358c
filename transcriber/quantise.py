"""bitsandbytes quantisation, for every model this tool loads through transformers (audio LLMs, Seamless, the
cleanup LLM): the config for a precision, and the check that NF4 gives right numbers on this GPU.

NF4 has given wrong numbers on some ROCm cards (RDNA3), so on ROCm a 4-bit load is checked first on one
layer against bf16 and falls back to 8-bit where they disagree.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Any

from transcriber.errors import ConfigError

#: The largest relative error of an NF4 layer against bf16 still taken as agreeing.
NF4_MAX_ERROR = 0.05


def nf4_agrees_with_bf16() -> bool:
    """One Linear layer in NF4 against bf16 on the GPU: False where 4-bit gives wrong numbers (ROCm RDNA3)."""
    import bitsandbytes as bnb
    import torch

    torch.manual_seed(0)
    reference = torch.nn.Linear(512, 512, bias=False, dtype=torch.bfloat16)
    quantized = bnb.nn.Linear4bit(512, 512, bias=False, compute_dtype=torch.bfloat16, quant_type="nf4")
    quantized.load_state_dict(reference.state_dict())
    reference, quantized = reference.cuda(), quantized.cuda()
    x = torch.randn(8, 512, dtype=torch.bfloat16, device="cuda")
    expected, got = reference(x).float(), quantized(x).float()
    error = ((expected - got).norm() / expected.norm()).item()
    return error < NF4_MAX_ERROR


def checked_precision(precision: str) -> str:
    """`precision`, except "4bit" becomes "8bit" on a ROCm GPU where NF4 disagrees with bf16."""
    if precision != "4bit":
        return precision
    import torch

    return "8bit" if torch.version.hip and not nf4_agrees_with_bf16() else precision


def bnb_config(precision: str, skip_modules: Sequence[str] = (), quant_type: str = "nf4", needed_for: str = "") -> Any:
    """The transformers `BitsAndBytesConfig` for "8bit" or "4bit" (None for "none"); `skip_modules` stay in
    bf16. A clear error where bitsandbytes is missing, naming what needed it."""
    if precision == "none":
        return None
    if importlib.util.find_spec("bitsandbytes") is None:
        raise ConfigError(
            f"{precision} loading{needed_for} needs bitsandbytes: pip install -e '.[quant]' (on ROCm, its ROCm "
            "build), or choose a model that fits the GPU in bf16"
        )
    import torch
    from transformers import BitsAndBytesConfig

    skip = {"llm_int8_skip_modules": list(skip_modules)} if skip_modules else {}
    if precision == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True, **skip)
    return BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type=quant_type, bnb_4bit_compute_dtype=torch.bfloat16, **skip
    )
