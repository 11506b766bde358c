"""Host settings: flags over environment over env/local.env over env/defaults.env, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from transcriber.errors import ConfigError
from transcriber.host.envfiles import load_host_config, parse_env_file, write_local_env

ROOT = Path(__file__).resolve().parent.parent


def test_shipped_defaults_parse_and_hold_the_design_target() -> None:
    config = load_host_config(ROOT / "env", environ={})
    assert config.get("HSA_OVERRIDE_GFX_VERSION") == "11.0.1"
    assert config.get("TRANSCRIBER_MODEL_ROCM") == "large-v3-turbo"


def test_precedence(tmp_path: Path) -> None:
    (tmp_path / "defaults.env").write_text(
        "HSA_OVERRIDE_GFX_VERSION=11.0.1\nTRANSCRIBER_GPU=auto\nTRANSCRIBER_IMAGE=a\n"
    )
    (tmp_path / "local.env").write_text("# setup\nHSA_OVERRIDE_GFX_VERSION=10.3.0\nTRANSCRIBER_GPU=rocm\n")
    config = load_host_config(tmp_path, {"TRANSCRIBER_GPU": "cpu"}, {"TRANSCRIBER_IMAGE": "b", "TRANSCRIBER_GPU": None})
    assert config.values == {"HSA_OVERRIDE_GFX_VERSION": "10.3.0", "TRANSCRIBER_GPU": "cpu", "TRANSCRIBER_IMAGE": "b"}
    assert config.sources["HSA_OVERRIDE_GFX_VERSION"] == str(tmp_path / "local.env")
    assert config.sources["TRANSCRIBER_GPU"] == "the environment"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("HSA_OVERRIDE_GFX_VERSION=gfx1101", "HSA_OVERRIDE_GFX_VERSION='gfx1101' in {path}: must look like 11.0.1"),
        ("TRANSCRIBER_GPU=amd", "TRANSCRIBER_GPU='amd' in {path}: must be one of"),
        ("TRANSCRIBER_DEVICE_GIDS=video", "TRANSCRIBER_DEVICE_GIDS='video' in {path}: must be numeric"),
        ("this is not an assignment", "{path}:1: cannot read"),
    ],
)
def test_bad_values_name_the_file_and_key(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "local.env"
    path.write_text(line + "\n")
    with pytest.raises(ConfigError) as caught:
        load_host_config(tmp_path, {})
    assert message.format(path=path) in str(caught.value)


def test_empty_override_is_allowed_and_local_env_round_trips(tmp_path: Path) -> None:
    values = {"TRANSCRIBER_GPU": "rocm", "HSA_OVERRIDE_GFX_VERSION": "", "TRANSCRIBER_DEVICE_GIDS": "44,992"}
    write_local_env(tmp_path / "local.env", values, "written by a test")
    assert parse_env_file(tmp_path / "local.env") == values
    assert load_host_config(tmp_path, {}).get("HSA_OVERRIDE_GFX_VERSION") == ""
