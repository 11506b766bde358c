"""The cleanup LLM through transformers: load once, clean chunk after chunk, free the GPU when done.

Greedy decoding, `max_new_tokens` bounded by the chunk's own length, and by default the deletion-only
logits processor, so the model can only drop words. Quantisation (bitsandbytes 8-bit or 4-bit) is chosen
from the VRAM the GPU has; on ROCm a 4-bit layer is checked against bf16 first, because NF4 has given
wrong results on RDNA3, and 8-bit is used when it disagrees.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from transcriber.catalog import LlmInfo, LlmSource, resolve_llm
from transcriber.cleanup.constrain import DeletionOnlyConstraint, DeletionOnlyLogitsProcessor, Vocabulary
from transcriber.cleanup.prompt import messages
from transcriber.errors import ConfigError, ModelNotFoundError
from transcriber.vram import total_gb, widest_fit

_NF4_MAX_ERROR = 0.05


@dataclass(frozen=True)
class LlmOptions:
    model: str
    mode: str = "delete"
    quant: str = "auto"
    device: str = "auto"


@dataclass
class LlmStats:
    """What the run summary and the benchmark report about the LLM."""

    chunks: int = 0
    #: Why each chunk that fell back to its input did; one entry per fallback.
    reasons: list[str] = field(default_factory=list)
    new_tokens: int = 0
    seconds: float = 0.0
    load_seconds: float = 0.0

    @property
    def fallbacks(self) -> int:
        return len(self.reasons)

    @property
    def tokens_per_second(self) -> float:
        return self.new_tokens / self.seconds if self.seconds else 0.0


def plan_quant(requested: str, device: str, info: LlmInfo | None, vram_gb: float) -> str:
    """The precision to load with: the user's choice, else the widest that fits `vram_gb` on a GPU."""
    if device == "cpu":
        if requested in ("8bit", "4bit"):
            raise ConfigError(f"--llm-quant {requested} needs a GPU (bitsandbytes); use --llm-quant none on the CPU")
        return "none"
    if requested != "auto":
        return requested
    if info is None:
        return "none"
    quant = widest_fit((("none", info.vram_bf16), ("8bit", info.vram_8bit), ("4bit", info.vram_4bit)), vram_gb)
    if quant is not None:
        return quant
    raise ConfigError(
        f"cleanup model {info.name} needs {info.vram_4bit} GB even in 4-bit, more than the {vram_gb:.1f} GB "
        "this GPU has; choose a smaller --cleanup-model or --device cpu"
    )


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
    return error < _NF4_MAX_ERROR


def _quant_config(quant: str) -> Any:
    if quant == "none":
        return None
    from transformers import BitsAndBytesConfig

    if quant == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    import torch

    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16)


class LlmCleaner:
    """One loaded cleanup model."""

    def __init__(self, options: LlmOptions) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.options = options
        self.stats = LlmStats()
        source = resolve_llm(options.model)
        gpu = torch.cuda.is_available() and options.device != "cpu"
        self.device = "cuda" if gpu else "cpu"
        self.quant = plan_quant(options.quant, self.device, source.info, total_gb(gpu))
        if self.quant == "4bit" and torch.version.hip and not nf4_agrees_with_bf16():
            self.quant = "8bit"
        started = time.perf_counter()
        kwargs = self._load_kwargs(source, gpu)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(source.folder), gguf_file=source.gguf_file)
            self.model = AutoModelForCausalLM.from_pretrained(str(source.folder), **kwargs)
        except (OSError, ValueError) as exc:
            raise ModelNotFoundError(f"cannot load cleanup model {source.name}: {exc}") from exc
        if not gpu:
            self.model = self.model.to("cpu")
        self.model.eval()
        if not getattr(self.tokenizer, "chat_template", None):
            raise ConfigError(
                f"cleanup model {source.name} has no chat template, so it is not a chat (instruct) model; "
                "use an -Instruct or -it model"
            )
        self.system_role = self._accepts_system_role()
        self.eos_ids = self._eos_ids()
        self.vocabulary = Vocabulary.from_tokenizer(self.tokenizer)
        self.stats.load_seconds = time.perf_counter() - started

    def _load_kwargs(self, source: LlmSource, gpu: bool) -> dict[str, Any]:
        import torch

        kwargs: dict[str, Any] = {"gguf_file": source.gguf_file}
        if gpu:
            kwargs |= {"dtype": torch.bfloat16, "device_map": "cuda"}
            if (config := _quant_config(self.quant)) is not None:
                kwargs["quantization_config"] = config
        else:
            kwargs["dtype"] = torch.float32
        return kwargs

    def _accepts_system_role(self) -> bool:
        try:
            self.tokenizer.apply_chat_template(
                [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}], tokenize=False
            )
        except Exception:  # jinja raises TemplateError for "System role not supported" (Gemma)
            return False
        return True

    def _eos_ids(self) -> list[int]:
        configured = self.model.generation_config.eos_token_id
        ids = configured if isinstance(configured, list) else [configured]
        return [i for i in {*ids, self.tokenizer.eos_token_id} if i is not None]

    def generate(self, chunk: str) -> str:
        """The model's answer for one chunk (unchecked: the guard decides whether it is used)."""
        import torch
        from transformers import LogitsProcessorList

        inputs = self.tokenizer.apply_chat_template(
            messages(chunk, self.system_role), add_generation_prompt=True, return_tensors="pt", return_dict=True
        ).to(self.model.device)
        prompt_length = inputs["input_ids"].shape[1]
        budget = len(self.tokenizer.encode(chunk, add_special_tokens=False)) + 16
        processors = LogitsProcessorList()
        if self.options.mode == "delete":
            constraint = DeletionOnlyConstraint(self.vocabulary, chunk.split(), self.eos_ids)
            processors.append(DeletionOnlyLogitsProcessor(constraint, prompt_length))
        started = time.perf_counter()
        with torch.inference_mode():
            output = self.model.generate(
                **inputs,
                max_new_tokens=budget,
                do_sample=False,
                logits_processor=processors,
                eos_token_id=self.eos_ids,
                pad_token_id=self.eos_ids[0],
            )
        self.stats.seconds += time.perf_counter() - started
        new = output[0, prompt_length:]
        self.stats.new_tokens += int(new.shape[0])
        return self.tokenizer.decode(new, skip_special_tokens=True)

    def close(self) -> None:
        import gc

        import torch

        del self.model
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
