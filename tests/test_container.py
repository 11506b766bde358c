"""The container request through the real docker SDK, sent to a stand-in Engine API that records it."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import docker
import pytest

from tests.fake_docker import FakeEngine
from transcriber.host.actions import HostPaths, transcribe_in_container
from transcriber.host.container import ContainerSpec, GpuAccess, run_command, run_container

ROOT = Path(__file__).resolve().parent.parent


def _client(engine: FakeEngine) -> docker.DockerClient:
    return docker.DockerClient(base_url=engine.url, version="1.43")


def _host(tmp_path: Path, **env: str) -> HostPaths:
    """A machine with /dev/kfd and renderD128 (plain files standing in for the nodes) and no env files."""
    dev = tmp_path / "dev"
    (dev / "dri").mkdir(parents=True)
    for node in (dev / "kfd", dev / "dri" / "renderD128", dev / "dri" / "card1"):
        node.write_text("")
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    environ = {"TRANSCRIBER_MODEL_CACHE": str(tmp_path / "cache"), "TRANSCRIBER_IMAGE": "transcriber", **env}
    return HostPaths(repo=ROOT, dev_root=dev, sys_root=tmp_path / "sys", environ=environ, env_dir=env_dir)


def _folders(tmp_path: Path) -> tuple[Path, Path]:
    source = tmp_path / "recordings"
    source.mkdir()
    return source, tmp_path / "transcripts"


def test_rocm_run_request(engine: FakeEngine, tmp_path: Path) -> None:
    engine.exit_code = 1
    host = _host(
        tmp_path,
        TRANSCRIBER_GPU="rocm",
        TRANSCRIBER_RENDER_NODE="/dev/dri/renderD128",
        HSA_OVERRIDE_GFX_VERSION="11.0.1",
        TRANSCRIBER_DEVICE_GIDS="44",
    )
    source, target = _folders(tmp_path)
    code = transcribe_in_container(host, source, target, ["--formats", "txt"], connect=lambda: _client(engine))
    assert code == 1, "the task must exit with the container's code"

    create = engine.call("POST", "/containers/create").body
    hc = create["HostConfig"]
    dev = host.dev_root
    assert hc["Devices"] == [
        {"PathOnHost": str(dev / "kfd"), "PathInContainer": "/dev/kfd", "CgroupPermissions": "rwm"},
        {
            "PathOnHost": str(dev / "dri/renderD128"),
            "PathInContainer": "/dev/dri/renderD128",
            "CgroupPermissions": "rwm",
        },
    ]
    node_gid = (dev / "kfd").stat().st_gid
    assert hc["GroupAdd"] == sorted({str(node_gid), "44"}, key=int)
    assert sorted(hc["Binds"]) == sorted(
        [f"{source}:/data/in:ro", f"{target}:/data/out:rw", f"{tmp_path / 'cache'}:/models:rw"]
    )
    assert hc["NetworkMode"] == "none"
    assert "no-new-privileges" in hc["SecurityOpt"]
    assert hc["ShmSize"] == 8 * 2**30
    assert create["User"] == f"{os.getuid()}:{os.getgid()}"
    assert create["Image"] == "transcriber:rocm"
    env = dict(item.split("=", 1) for item in create["Env"])
    assert env["HSA_OVERRIDE_GFX_VERSION"] == "11.0.1"
    assert env["HF_HOME"] == "/models"
    assert env["HF_HUB_OFFLINE"] == "1"
    assert create["Cmd"] == [*run_command(["--model", "large-v3-turbo", "--formats", "txt"])]


def test_multimodal_backend_passes_through_without_an_asr_model(engine: FakeEngine, tmp_path: Path) -> None:
    from transcriber.host.actions import transcribe_args

    host = _host(tmp_path, TRANSCRIBER_GPU="cpu")
    source, target = _folders(tmp_path)
    _, _, flags = transcribe_args(str(source), str(target), None, None, "multimodal", "--multimodal-verbatim")
    assert transcribe_in_container(host, source, target, flags, connect=lambda: _client(engine)) == 0
    command = engine.call("POST", "/containers/create").body["Cmd"]
    assert command[-3:] == ["--backend", "multimodal", "--multimodal-verbatim"]
    assert "--model" not in command
    assert engine.paths()[-1] == "DELETE /containers/c0ffee"
    assert target.is_dir()


def test_override_left_out_when_empty_and_cpu_gets_no_devices(engine: FakeEngine, tmp_path: Path) -> None:
    host = _host(tmp_path, TRANSCRIBER_GPU="cpu", HSA_OVERRIDE_GFX_VERSION="")
    source, target = _folders(tmp_path)
    assert transcribe_in_container(host, source, target, [], connect=lambda: _client(engine)) == 0
    create = engine.call("POST", "/containers/create").body
    assert not any(item.startswith("HSA_OVERRIDE_GFX_VERSION=") for item in create["Env"])
    assert not create["HostConfig"].get("Devices")
    assert create["Image"] == "transcriber:cpu"
    assert "--model" in create["Cmd"] and "small" in create["Cmd"]


def test_logs_stream_to_the_user(engine: FakeEngine) -> None:
    engine.log_lines = ["[1/2] transcribing a.wav\n", "finished: 2 done\n"]
    spec = ContainerSpec(
        image="transcriber:cpu",
        command=run_command([]),
        input_dir=Path("/in"),
        output_dir=Path("/out"),
        model_cache=Path("/cache"),
        gpu=GpuAccess(kind="cpu"),
        user="1000:1000",
    )
    out = io.StringIO()
    assert run_container(_client(engine), spec, out) == 0
    assert out.getvalue() == "[1/2] transcribing a.wav\nfinished: 2 done\n"


def test_missing_kfd_is_a_clear_error(engine: FakeEngine, tmp_path: Path) -> None:
    host = _host(tmp_path, TRANSCRIBER_GPU="rocm")
    (host.dev_root / "kfd").unlink()
    source, target = _folders(tmp_path)
    from transcriber.errors import ConfigError

    with pytest.raises(ConfigError, match="amdgpu kernel driver is not loaded"):
        transcribe_in_container(host, source, target, [], connect=lambda: _client(engine))
    assert not any(c.path == "/containers/create" for c in engine.calls)


_INTERRUPTED_RUN = """
import sys, docker
from pathlib import Path
from transcriber.host.actions import HostPaths, transcribe_in_container
tmp = Path(sys.argv[1])
host = HostPaths(repo=Path(sys.argv[3]), dev_root=tmp / "dev", sys_root=tmp / "sys", env_dir=tmp / "env",
                 environ={"TRANSCRIBER_GPU": "cpu", "TRANSCRIBER_MODEL_CACHE": str(tmp / "cache")})
code = transcribe_in_container(host, tmp / "recordings", tmp / "out", [],
                               connect=lambda: docker.DockerClient(base_url=sys.argv[2], version="1.43"))
print("EXIT", code, flush=True)
"""


def test_ctrl_c_stops_and_removes_the_container(engine: FakeEngine, tmp_path: Path) -> None:
    engine.hang_logs = True
    _host(tmp_path)
    _folders(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-c", _INTERRUPTED_RUN, str(tmp_path), engine.url, str(ROOT)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert engine.logs_started.wait(timeout=60), "the run never started streaming logs"
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert "EXIT 130" in stdout, stderr
    assert "stopping the container" in stderr
    order = engine.paths()
    assert order.index("POST /containers/c0ffee/stop") < order.index("DELETE /containers/c0ffee")


def test_bench_in_the_container_reaches_a_configs_file(engine: FakeEngine, tmp_path: Path) -> None:
    from transcriber.host.actions import bench_args, bench_in_container

    host = _host(tmp_path, TRANSCRIBER_GPU="cpu")
    source, _ = _folders(tmp_path)
    spec = tmp_path / "my configs.toml"
    spec.write_text('[[config]]\nmodel = "large-v3-turbo"\n')
    source, target, configs = bench_args(str(source), None, str(spec))
    assert bench_in_container(host, source, target, configs, connect=lambda: _client(engine)) == 0
    create = engine.call("POST", "/containers/create").body
    assert create["Cmd"] == ["bench", "--input", "/data/in", "--output", "/data/out", "--configs",
                             "/data/out/my configs.toml"]  # fmt: skip
    assert (target / "my configs.toml").read_text() == spec.read_text()
    assert target == tmp_path / "recordings-bench"
