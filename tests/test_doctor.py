"""`invoke doctor`'s checks on stand-in machines: a healthy ROCm box, a stale image, a wrong override."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import docker

from tests.fake_docker import FakeEngine
from tests.test_gpu import GB, _cpu, _node
from transcriber.host.docker_engine import DockerUnavailableError
from transcriber.host.doctor import SOURCE_LABEL, run_checks, source_hash
from transcriber.host.envfiles import HostConfig

ROOT = Path(__file__).resolve().parent.parent


def _machine(tmp_path: Path, override: str) -> tuple[HostConfig, Path, Path]:
    sys_root, dev = tmp_path / "sys", tmp_path / "dev"
    _cpu(sys_root)
    _node(sys_root, 1, 110001, 120, 128, [(1, 12 * GB)])
    (dev / "dri").mkdir(parents=True)
    (dev / "kfd").write_text("")
    (dev / "dri" / "renderD128").write_text("")
    _cache_model(tmp_path, "mobiuslabsgmbh/faster-whisper-large-v3-turbo", "config.json", "model.bin")
    values = {"TRANSCRIBER_GPU": "rocm", "HSA_OVERRIDE_GFX_VERSION": override,
              "TRANSCRIBER_MODEL_CACHE": str(tmp_path / "cache")}  # fmt: skip
    config = HostConfig(values=values, sources=dict.fromkeys(values, "env/local.env"))
    return config, sys_root, dev


def _cache_model(tmp_path: Path, repo: str, *files: str, ref: bool = True) -> None:
    """A model in the host cache as huggingface_hub writes it: files in a snapshot, `refs/main` naming it
    (unless `ref` is off, as after a copy that lost it)."""
    folder = tmp_path / "cache" / "hub" / f"models--{repo.replace('/', '--')}"
    (folder / "snapshots" / "abc123").mkdir(parents=True)
    for file in files:
        (folder / "snapshots" / "abc123" / file).write_text(file)
    if ref:
        (folder / "refs").mkdir()
        (folder / "refs" / "main").write_text("abc123")


def _model_check(tmp_path: Path, model: str) -> tuple[bool, str]:
    values = {"TRANSCRIBER_GPU": "cpu", "TRANSCRIBER_MODEL_CACHE": str(tmp_path / "cache")}
    config = HostConfig(values=values, sources=dict.fromkeys(values, "env/local.env"))
    checks = run_checks(config, ROOT, tmp_path / "sys", tmp_path / "dev", _no_docker, model=model)
    return next((c.ok, c.detail) for c in checks if c.name == "models")


def _no_docker() -> object:
    raise DockerUnavailableError("no engine in this test")


def _results(engine: FakeEngine, config: HostConfig, sys_root: Path, dev: Path) -> dict[str, tuple[bool, str]]:
    client = docker.DockerClient(base_url=engine.url, version="1.43")
    checks = run_checks(config, ROOT, sys_root, dev, connect=lambda: client)
    return {c.name: (c.ok, c.detail) for c in checks}


def test_healthy_rocm_machine_passes_the_gpu_image_and_model_checks(engine: FakeEngine, tmp_path: Path) -> None:
    engine.images["transcriber:rocm"] = {SOURCE_LABEL: source_hash(ROOT)}
    config, sys_root, dev = _machine(tmp_path, "11.0.1")
    results = _results(engine, config, sys_root, dev)
    for name in ("Docker engine", "image", "GPU", "gfx override", "models", f"access {dev / 'kfd'}"):
        assert results[name][0], (name, results[name])
    assert results["GPU"][1] == "AMD gfx1101, 12.0 GB"


def test_stale_image_and_wrong_override_fail_with_the_fix(engine: FakeEngine, tmp_path: Path) -> None:
    engine.images["transcriber:rocm"] = {SOURCE_LABEL: "old"}
    config, sys_root, dev = _machine(tmp_path, "10.3.0")
    results = _results(engine, config, sys_root, dev)
    assert results["image"] == (
        False,
        "transcriber:rocm is older than containers/, the lock or transcriber/: run `invoke build`",
    )
    ok, detail = results["gfx override"]
    assert not ok
    assert "gfx1101 wants HSA_OVERRIDE_GFX_VERSION=11.0.1, but env/local.env sets 10.3.0" in detail


def test_missing_image_says_build(engine: FakeEngine, tmp_path: Path) -> None:
    config, sys_root, dev = _machine(tmp_path, "11.0.1")
    assert _results(engine, config, sys_root, dev)["image"][1].endswith(
        "is not built: run `invoke build` (or `invoke setup`)"
    )


def test_image_hash_covers_the_package(tmp_path: Path) -> None:
    for item in ("containers/cpu/Dockerfile", "requirements.lock", "pyproject.toml", "transcriber/cli.py"):
        (tmp_path / item).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / item).write_text(item)
    before = source_hash(tmp_path)
    (tmp_path / "transcriber" / "__pycache__").mkdir()
    (tmp_path / "transcriber" / "__pycache__" / "cli.cpython-312.pyc").write_bytes(b"\0")
    assert source_hash(tmp_path) == before, "bytecode caches are not an input"
    (tmp_path / "transcriber" / "cli.py").write_text("changed")
    assert source_hash(tmp_path) != before


def test_cpu_host_after_setup_gpu_cpu_passes_and_checks_the_model_in_use(engine: FakeEngine, tmp_path: Path) -> None:
    engine.images["transcriber:cpu"] = {SOURCE_LABEL: source_hash(ROOT)}
    values = {"TRANSCRIBER_GPU": "cpu", "TRANSCRIBER_MODEL_CACHE": str(tmp_path / "cache")}
    config = HostConfig(values=values, sources=dict.fromkeys(values, "env/local.env"))
    client = docker.DockerClient(base_url=engine.url, version="1.43")
    checks = run_checks(config, ROOT, tmp_path / "sys", tmp_path / "dev", lambda: client, model="tiny.en")
    results = {c.name: (c.ok, c.detail) for c in checks}
    assert results["GPU"] == (True, "CPU, as env/local.env chooses (TRANSCRIBER_GPU=cpu)")
    assert results["image"][0]
    assert results["models"][1].startswith("tiny.en is not in"), "the model in use, not the env default"


def test_model_check_reads_the_cache_as_a_run_does(tmp_path: Path) -> None:
    """Through huggingface_hub's cache API: refs/main must name a snapshot, which must hold what the kind loads."""
    _cache_model(tmp_path, "Systran/faster-whisper-small", "config.json", "model.bin", ref=False)
    assert not _model_check(tmp_path, "small")[0], "no refs/main: an offline run would not find it"
    _cache_model(tmp_path, "Systran/faster-whisper-base", "config.json")
    assert not _model_check(tmp_path, "Systran/faster-whisper-base")[0], "a repo id without model.bin"
    _cache_model(tmp_path, "Systran/faster-whisper-medium", "config.json", "model.bin")
    medium = _model_check(tmp_path, "Systran/faster-whisper-medium")
    assert medium == (True, f"Systran/faster-whisper-medium is cached in {tmp_path / 'cache'}")
    _cache_model(tmp_path, "Qwen/Qwen2.5-3B-Instruct", "config.json", "model.safetensors")
    assert _model_check(tmp_path, "qwen2.5-3b-instruct")[0], "a cleanup LLM is cached by its config.json"
    ok, detail = _model_check(tmp_path, "voxtral-mini-3b")
    assert not ok and detail.endswith("run `invoke models --download voxtral-mini-3b` (or --import a folder)")


def test_model_check_without_huggingface_hub_on_the_host_says_how_to_install_it(tmp_path: Path) -> None:
    probe = (
        "import sys\nsys.modules['huggingface_hub'] = None\n"
        "from pathlib import Path\nfrom transcriber.host.doctor import _model_check\n"
        f"print(_model_check(Path({str(tmp_path)!r}), 'small'))"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "reading the model cache needs huggingface_hub" in result.stdout and "'.[host]'" in result.stdout
