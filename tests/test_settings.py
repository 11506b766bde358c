"""Settings declared once: the flags, variables, checks, bench keys and hashes all follow the declaration."""

from __future__ import annotations

import pytest

from transcriber.bench.runner import parse_configs
from transcriber.cli import build_parser, main
from transcriber.errors import ConfigError
from transcriber.settings import ASR, OUTPUT, Option, load_settings, options, settings_hash

BASE = {"input": "in", "output": "out"}


def _parse(*argv: str) -> dict[str, object]:
    return vars(build_parser().parse_args(["run", "--input", "in", "--output", "out", *argv]))


#: Settings whose own parser takes a vocabulary that neither their type nor `choices` tells.
EXAMPLES = {"speakers": "2", "language": "de"}


def _sample(option: Option) -> str:
    """A valid value for `option` other than its default, as a user would type it."""
    if option.name in EXAMPLES:
        return EXAMPLES[option.name]
    if option.kind is bool:
        return str(not option.default).lower()
    if option.spec.choices:
        return option.spec.choices[-1]
    return {int: "3", float: "2.5"}.get(option.kind, "elsewhere")


def test_every_setting_has_a_flag_and_a_variable_that_reach_it() -> None:
    for option in options():
        raw = _sample(option)
        expected = option.parse(raw, option.env)
        from_env = load_settings({**BASE, option.name: None}, {option.env: raw})
        from_flag = load_settings(_parse(*([option.flag] if option.kind is bool else [option.flag, raw])), {})
        assert getattr(from_env, option.name) == expected == getattr(from_flag, option.name), option.name
        assert expected != option.default, option.name


def test_switches_turn_off_and_on_from_both_sides() -> None:
    assert load_settings(_parse("--no-vad"), {}).vad is False
    assert load_settings(_parse(), {"TRANSCRIBER_VAD": "off"}).vad is False
    assert load_settings(_parse("--force"), {"TRANSCRIBER_FORCE": "no"}).force is True
    with pytest.raises(ConfigError, match="TRANSCRIBER_QUIET='maybe' must be true or false"):
        load_settings(BASE, {"TRANSCRIBER_QUIET": "maybe"})


@pytest.mark.parametrize(
    ("flags", "environ", "message"),
    [
        ({"llm_quant": "2bit"}, {}, "--llm-quant='2bit' is not one of: auto, none, 8bit, 4bit"),
        ({}, {"TRANSCRIBER_CLEANUP_MODE": "shout"}, "TRANSCRIBER_CLEANUP_MODE='shout' is not one of"),
        ({}, {"TRANSCRIBER_VRAM": "-1"}, "TRANSCRIBER_VRAM='-1' must be a positive number"),
        ({"formats": " , "}, {}, "--formats is empty"),
        ({"input": None}, {}, "--input is required (or set TRANSCRIBER_INPUT)"),
    ],
)
def test_bad_values_name_the_flag_or_variable(flags: dict[str, object], environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({**BASE, **flags}, environ)
    assert message in str(caught.value)


def test_help_shows_each_flag_with_its_variable_and_choices(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    flat = " ".join(capsys.readouterr().out.split())
    for option in options():
        assert option.flag in flat and f"[{option.env}]" in flat
    assert "one of auto, none, rules, llm; default auto" in flat


def test_hashes_follow_what_each_setting_changes() -> None:
    plain = load_settings(BASE, {})
    asr = plain.asr_key("tiny.en", "cpu", "int8")
    unconditional = {o.name for o in options() if o.spec.affects == ASR and not (o.spec.when or o.spec.unless)}
    assert unconditional <= set(asr)
    assert "vram" not in asr and "cleanup_model" not in plain.output_key(asr)
    rules_only = load_settings({**BASE, "cleanup_model": "phi-3-mini", "force": True, "quiet": True}, {})
    assert settings_hash(rules_only.output_key(asr)) == settings_hash(plain.output_key(asr))
    llm = load_settings({**BASE, "cleanup": "llm", "cleanup_model": "phi-3-mini", "speakers": "2"}, {})
    assert llm.asr_key("tiny.en", "cpu", "int8") == asr, "cleanup never redoes recognition"
    assert llm.output_key(asr)["cleanup_model"] == "phi-3-mini"
    multimodal = load_settings({**BASE, "backend": "multimodal", "vram": 8}, {})
    assert multimodal.asr_key("voxtral-mini-3b", "cuda", "bfloat16")["vram"] == 8.0
    reordered = load_settings({**BASE, "formats": "srt,txt"}, {})
    same = load_settings({**BASE, "formats": "txt,.SRT,srt"}, {})
    assert reordered.output_key(asr) == same.output_key(asr)
    assert {o.name for o in options() if o.spec.affects == OUTPUT} <= set(llm.output_key(asr))


def test_bench_configs_take_every_setting_that_changes_the_result() -> None:
    (config,) = parse_configs("model=tiny.en,vad=false,llm_quant=8bit,cleanup=llm")
    assert (config.settings.vad, config.settings.llm_quant) == (False, "8bit")
    for name in ("formats", "force", "quiet", "input"):
        with pytest.raises(ConfigError, match="unknown keys"):
            parse_configs(f"model=tiny.en,{name}=x")


@pytest.mark.parametrize("value", ["0", "65", "1000"])
def test_batch_size_has_bounds(value: str) -> None:
    with pytest.raises(ConfigError, match="must be auto or a whole number from 1 to 64"):
        load_settings({"input": "in", "output": "out", "batch_size": value}, environ={})
    assert load_settings({"input": "in", "output": "out", "batch_size": "64"}, environ={}).batch_size == 64
