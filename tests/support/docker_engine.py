"""Helpers for the tests on a real Docker engine: the engine's client, `invoke` run as a user runs it, the
image's own lock check, and a host set up as `invoke models --import tiny.en` and `invoke setup --gpu cpu`
leave it. Shared by test_docker_engine.py (the torch-less CPU image, the ROCm image) and
test_docker_cpu_torch.py (the CPU image with torch), which each build their own image tag.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
#: Worktrees that test side by side on one engine each name their own image.
IMAGE = os.environ.get("TRANSCRIBER_TEST_IMAGE", "transcriber-test")
#: A user's Hub token: no container may get it (the run and Ray node requests are inspected for it).
TOKEN = "hf_EngineTestTokenThatNoContainerMayGet"


def engine():  # type: ignore[no-untyped-def]
    """A docker SDK client of the real engine, or a skip (a failure where CI requires the engine)."""
    import docker

    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:
        reason = f"no Docker engine answers ({type(exc).__name__}); CI starts one in .ci/run"
        if os.environ.get("TRANSCRIBER_REQUIRE_DOCKER") == "1":
            pytest.fail(f"TRANSCRIBER_REQUIRE_DOCKER=1 but {reason}")
        pytest.skip(reason)
    return client


def invoke(*args: str, env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def lock_check(client, image: str) -> str:  # type: ignore[no-untyped-def]
    """The image's own lock check, run again in it: every locked package imports on its Python 3.12."""
    command = ["check_lock.py", "requirements.lock"]
    output = client.containers.run(image, command, entrypoint="python3", working_dir="/opt/transcriber", remove=True)
    text = output.decode()
    assert re.search(r"(\d+)/\1 locked packages install and import on Python 3\.12", text), text
    return text


def cpu_host(home: Path, image: str, build_args: str) -> dict[str, str]:
    """The environment of a user who ran `invoke models --import tiny.en` and `invoke setup --gpu cpu` with
    TRANSCRIBER_BUILD_ARGS=`build_args`, the CPU image tagged `image`:cpu (on the stand-in base where
    Docker Hub cannot be reached)."""
    env_dir = home / "env"
    env_dir.mkdir()
    shutil.copy(ROOT / "env" / "defaults.env", env_dir / "defaults.env")
    env = {
        **os.environ,
        "TRANSCRIBER_ENV_DIR": str(env_dir),
        "TRANSCRIBER_MODEL_CACHE": str(home / "cache"),
        "TRANSCRIBER_IMAGE": image,
        "TRANSCRIBER_MODEL_CPU": "tiny.en",
        "TRANSCRIBER_BUILD_ARGS": build_args,
        "TRANSCRIBER_SYSFS_ROOT": str(home / "no-sys"),
        "TRANSCRIBER_NVIDIA_SMI": str(home / "no-nvidia-smi"),
        "HF_TOKEN": TOKEN,
    }
    subprocess.run(["bash", str(ROOT / "tests/docker/make_base_images.sh"), "cpu"], check=True, timeout=1800)
    imported = invoke("models", "--import", "tiny.en", env=env)
    assert imported.returncode == 0, imported.stderr
    assert f"{home / 'cache'}/hub/models--Systran--faster-whisper-tiny.en/snapshots/" in imported.stdout
    setup = invoke("setup", "--gpu", "cpu", env=env, timeout=3600)
    assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr
    assert "TRANSCRIBER_GPU=cpu" in (env_dir / "local.env").read_text()
    return env
