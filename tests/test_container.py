"""What a real engine cannot show on a machine without an AMD GPU: the ROCm request (device nodes, their
numeric GIDs, the gfx override), sent through the real docker SDK to a stand-in Engine API that records
it; and the flag handling whose effect needs torch in the image. Everything else about the container
path runs on a real engine in tests/test_docker_engine.py."""

from __future__ import annotations

import os
from pathlib import Path

import docker
import pytest

from tests.fake_docker import FakeEngine
from transcriber.host.actions import HostPaths, transcribe_in_container
from transcriber.host.container import ContainerSpec, GpuAccess, run_command

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
    engine.images["transcriber:rocm"] = {}
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
    assert env["TRANSCRIBER_INPUT_ORIGIN"] == f"/data/in={source}", "sources are named by their host path"
    assert create["Cmd"] == [*run_command(["--model", "large-v3-turbo", "--formats", "txt"])]


@pytest.mark.parametrize(
    ("backend", "extra"),
    [("multimodal", "--multimodal-verbatim"), ("pipeline", "--backend=multimodal --multimodal-verbatim")],
)
def test_multimodal_backend_gets_no_asr_model(engine: FakeEngine, tmp_path: Path, backend: str, extra: str) -> None:
    """The CI image has no torch, so the multimodal backend cannot run there; its request is checked here."""
    from transcriber.host.actions import transcribe_args

    host = _host(tmp_path, TRANSCRIBER_GPU="cpu")
    engine.images["transcriber:cpu"] = {}
    source, target = _folders(tmp_path)
    _, _, flags = transcribe_args(str(source), str(target), None, None, backend, extra)
    assert transcribe_in_container(host, source, target, flags, connect=lambda: _client(engine)) == 0
    command = engine.call("POST", "/containers/create").body["Cmd"]
    assert command[-1] == "--multimodal-verbatim"
    assert "--model" not in command
    assert engine.paths()[-1] == "DELETE /containers/c0ffee"
    assert target.is_dir()


def test_missing_kfd_is_a_clear_error(engine: FakeEngine, tmp_path: Path) -> None:
    host = _host(tmp_path, TRANSCRIBER_GPU="rocm")
    (host.dev_root / "kfd").unlink()
    source, target = _folders(tmp_path)
    from transcriber.errors import ConfigError

    with pytest.raises(ConfigError, match="amdgpu kernel driver is not loaded"):
        transcribe_in_container(host, source, target, [], connect=lambda: _client(engine))
    assert not any(c.path == "/containers/create" for c in engine.calls)


def _spec(gpu: GpuAccess) -> ContainerSpec:
    return ContainerSpec(
        image="transcriber:rocm",
        command=run_command([]),
        input_dir=Path("/home/me/rec"),
        output_dir=Path("/home/me/rec-transcripts"),
        model_cache=Path("/home/me/.cache/hf"),
        gpu=gpu,
        user="1000:1000",
    )


def test_messages_name_host_paths() -> None:
    spec = _spec(GpuAccess(kind="cpu"))
    text = "failed: /data/in/a b.wav: cannot decode; wrote /data/out/a.txt; model not in /models (/data/input stays)"
    assert spec.to_host(text) == (
        "failed: /home/me/rec/a b.wav: cannot decode; wrote /home/me/rec-transcripts/a.txt; "
        "model not in /home/me/.cache/hf (/data/input stays)"
    )


def test_shell_flags_render_the_same_request() -> None:
    """`invoke shell` gets its flags from the spec that runs use, so GPU, user and isolation cannot drift."""
    spec = _spec(GpuAccess("rocm", ("/dev/kfd:/dev/kfd:rwm",), (44, 992), "11.0.1"))
    args = spec.cli_args()
    for flag in ("--network=none", "--user=1000:1000", "--ipc=private", "--shm-size=8g",
                 "--security-opt=no-new-privileges", "--security-opt=seccomp=unconfined",
                 "--device=/dev/kfd:/dev/kfd:rwm", "--group-add=44", "--group-add=992",
                 "--env=HSA_OVERRIDE_GFX_VERSION=11.0.1", "--env=HOME=/tmp",
                 "--volume=/home/me/rec:/data/in:ro", "--volume=/home/me/.cache/hf:/models:rw"):  # fmt: skip
        assert flag in args, flag
    assert "--ipc=host" not in args


def test_one_file_and_flag_sniffing(tmp_path: Path) -> None:
    from transcriber.host.actions import default_output, flag_value

    folder = tmp_path / "rec"
    folder.mkdir()
    (folder / "a.wav").write_bytes(b"")
    assert default_output(folder) == default_output(folder / "a.wav") == tmp_path / "rec-transcripts"
    assert flag_value(["--backend", "pipeline", "--backend=multimodal"], "--backend") == "multimodal"
    assert flag_value(["--model-dir", "x"], "--model") is None


def test_dev_target_has_its_own_tag_and_bogus_gpu_is_refused(tmp_path: Path) -> None:
    from transcriber.errors import ConfigError
    from transcriber.host.actions import build, setup_env
    from transcriber.host.envfiles import image_tag

    host = _host(tmp_path)
    config = host.config()
    assert image_tag(config, "cpu", "dev") == "transcriber:cpu-dev" != image_tag(config, "cpu")
    with pytest.raises(ConfigError, match="--gpu bogus: choose one of auto, rocm, cuda, cpu"):
        setup_env(host, "bogus")
    assert not (host.env_dir / "local.env").exists()
    with pytest.raises(ConfigError, match="--target lab"):
        build(host, "cpu", "lab", connect=lambda: None)
