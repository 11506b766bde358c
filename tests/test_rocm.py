"""The ROCm table (override and allocator per gfx target) and what `invoke doctor` makes of it."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from tests.support.fake_docker import FakeEngine
from tests.test_gpu import GB, _cpu, _node
from transcriber.host.doctor import SOURCE_LABEL, run_checks, source_hash
from transcriber.host.envfiles import HostConfig
from transcriber.host.rocm import advice

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("gfx", "override", "allocator", "says"),
    [
        ("gfx1101", "11.0.1", False, "native target"),  # RX 7700 XT / 7800 XT, the design target
        ("gfx1030", "10.3.0", True, "#2090"),  # RX 6800/6900: native, but the default allocator drops text
        ("gfx1031", "10.3.0", True, "runs its family's (10.3.0)"),  # RX 6700 XT
        ("gfx1035", "10.3.0", True, "no kernels of its own"),  # Rembrandt APU (680M)
        ("gfx1103", "11.0.0", False, "runs its family's (11.0.0)"),  # Phoenix APU (780M)
        ("gfx1201", "12.0.1", True, "#2021"),  # RX 9070 (RDNA4)
        ("gfx90a", "", False, "faster-whisper runs on the CPU"),  # MI210: no CTranslate2 ROCm kernels
    ],
)
def test_table(gfx: str, override: str, allocator: bool, says: str) -> None:
    row = advice(gfx)
    assert (row.hsa_override, row.allocator_required) == (override, allocator)
    assert says in row.why


def _doctor(engine: FakeEngine, tmp_path: Path, version: int, values: dict[str, str], selftest=None) -> dict:  # type: ignore[no-untyped-def]
    engine.images["transcriber:rocm"] = {SOURCE_LABEL: source_hash(ROOT)}
    sys_root, dev = tmp_path / "sys", tmp_path / "dev"
    _cpu(sys_root)
    _node(sys_root, 1, version, 120, 128, [(1, 16 * GB)])
    (dev / "dri").mkdir(parents=True)
    (dev / "kfd").write_text("")
    (dev / "dri" / "renderD128").write_text("")
    values = {"TRANSCRIBER_GPU": "rocm", "TRANSCRIBER_MODEL_CACHE": str(tmp_path / "cache"), **values}
    config = HostConfig(values=values, sources=dict.fromkeys(values, "env/local.env"))
    client = docker.DockerClient(base_url=engine.url, version="1.43")
    checks = run_checks(config, ROOT, sys_root, dev, connect=lambda: client, selftest=selftest)
    return {c.name: (c.ok, c.detail) for c in checks}


def test_doctor_wants_the_allocator_on_rdna2(engine: FakeEngine, tmp_path: Path) -> None:
    results = _doctor(engine, tmp_path, 100300, {"HSA_OVERRIDE_GFX_VERSION": "10.3.0"})
    ok, detail = results["CTranslate2 allocator"]
    assert not ok and "set CT2_CUDA_ALLOCATOR=cub_caching" in detail
    assert "native target" in results["gfx override"][1] and "#2090" in results["gfx override"][1]


def test_doctor_runs_the_selftest_when_the_rest_passes(engine: FakeEngine, tmp_path: Path) -> None:
    calls: list[int] = []

    def selftest() -> int:
        calls.append(1)
        return 1

    values = {"HSA_OVERRIDE_GFX_VERSION": "11.0.1", "CT2_CUDA_ALLOCATOR": "cub_caching"}
    results = _doctor(engine, tmp_path, 110001, values, selftest=selftest)
    assert calls == [1]
    assert results["CTranslate2 allocator"] == (True, "CT2_CUDA_ALLOCATOR=cub_caching")
    ok, detail = results["GPU self-test"]
    assert not ok and "wrong text" in detail
