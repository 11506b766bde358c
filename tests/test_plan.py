"""The run's plan: resolved once, printed as the header, and hashing exactly as before the plan existed.

The literal hashes and keys below were computed by main's own code before `RunPlan` came in (`Batch` and
`EngineSlot` keys: first at ba35e61, then again at e08761b, after the html page took `formats` out of the output
key and put `html_audio` in), so a change here means every earlier output would be redone on the next run.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.runs import RECORDINGS
from transcriber.fingerprint import lexicon_fingerprint, model_fingerprint
from transcriber.plan import RunPlan, resolve_plan, resolve_recognition
from transcriber.progress import Reporter
from transcriber.settings import load_settings, settings_hash

NOTE = RECORDINGS / "notes" / "note café.ogg"

#: settings_hash(asr_key), settings_hash(output_key) of fixed settings, as main computed them before the plan.
SETTINGS_HASHES: dict[str, tuple[dict[str, Any], str, str]] = {
    "defaults": ({}, "3e664736b3ab4b27", "ee6bdbe5b0dd36b6"),
    "rules": ({"cleanup": "rules", "formats": "txt,json"}, "3e664736b3ab4b27", "86c7da1ef3e0a823"),
    "llm_speakers": (
        {"cleanup": "llm", "cleanup_model": "smollm2-135m-instruct", "speakers": "2", "speaker_names": "Ana,Ben",
         "language": "en", "beam_size": 2, "vad": False},
        "8da813fc3e8eb802", "f746570c44dd43c1",
    ),
}  # fmt: skip

#: The keys a tiny.en CPU run computed before the plan; "model_files" is filled in per machine.
ASR_KEY: dict[str, Any] = {
    "backend": "pipeline", "batch_size": 8, "beam_size": 5, "compute_type": "int8", "device": "cpu",
    "language": "auto", "model": "tiny.en", "multimodal_verbatim": False, "vad": True, "version": "0.1.0",
}  # fmt: skip
OUT_EXTRA: dict[str, Any] = {"cleanup": "rules", "html_audio": "embed"}
SPEAKERS_EXTRA: dict[str, Any] = {"diarizer": "embedding", "speakers": "auto", "voices": None}
#: With the fingerprints this machine had when they were recorded, the full hashes were these.
RECORDED = {"model_files": "ea5a5f2e21fa900b", "lexicon": "bae27a8e786bd190"}
RECORDED_HASHES = {"asr": "52e75ea26b5d77aa", "out": "875ee0d9a489b11a", "raw_speakers": "762ac1562f155221",
                   "out_speakers": "ac4bddd04ea59166"}  # fmt: skip


def _settings(tmp_path: Path, **flags: Any) -> Any:
    return load_settings({"input": str(NOTE), "output": str(tmp_path / "out"), "model": "tiny.en", **flags},
                         environ={})  # fmt: skip


def _plan(tmp_path: Path, **flags: Any) -> tuple[RunPlan, str]:
    stream = io.StringIO()
    note = Reporter(stream).note
    settings = _settings(tmp_path, device="cpu", **flags)
    return resolve_plan(settings, resolve_recognition(settings, note), note), stream.getvalue()


@pytest.mark.parametrize("case", sorted(SETTINGS_HASHES))
def test_settings_hashes_are_those_main_computed(tmp_path: Path, case: str) -> None:
    flags, asr_hash, out_hash = SETTINGS_HASHES[case]
    settings = _settings(tmp_path, **flags)
    asr_key = settings.asr_key("tiny.en", "cpu", "int8", 8)
    assert (settings_hash(asr_key), settings_hash(settings.output_key(asr_key))) == (asr_hash, out_hash)


def test_the_recorded_keys_hash_to_the_recorded_hashes() -> None:
    """The literal keys below are the ones behind the recorded hashes (so comparing keys compares hashes)."""
    asr_key = {**ASR_KEY, "model_files": RECORDED["model_files"]}
    assert settings_hash(asr_key) == RECORDED_HASHES["asr"]
    assert settings_hash({**asr_key, **OUT_EXTRA, "lexicon": RECORDED["lexicon"]}) == RECORDED_HASHES["out"]
    raw_key = {**asr_key, **SPEAKERS_EXTRA}
    assert settings_hash(raw_key) == RECORDED_HASHES["raw_speakers"]
    out_key = {**raw_key, **OUT_EXTRA, "speaker_names": [], "lexicon": RECORDED["lexicon"]}
    assert settings_hash(out_key) == RECORDED_HASHES["out_speakers"]


def test_the_rules_word_lists_hash_as_recorded() -> None:
    """The lexicons enter every output's hash: a change here rewrites every earlier transcript on the next run,
    so it must be deliberate (then record the new value). Lists the rules do not read stay out of it."""
    assert lexicon_fingerprint() == RECORDED["lexicon"]


def test_a_plan_keys_a_run_as_main_did(tmp_path: Path, tiny_en: Path) -> None:
    plan, _ = _plan(tmp_path, cleanup="rules")
    asr_key = {**ASR_KEY, "model_files": model_fingerprint(tiny_en)}
    assert plan.asr_key == asr_key and plan.raw_key == asr_key
    assert plan.out_key == {**asr_key, **OUT_EXTRA, "lexicon": lexicon_fingerprint()}
    assert plan.out_hash == settings_hash(plan.out_key) and plan.asr_hash == settings_hash(asr_key)
    assert plan.settings.cleanup == "rules" and plan.llm == "" and not plan.diarize
    assert plan.header() == [
        f"plan: faster-whisper tiny.en on cpu, int8, batch 8, files {model_fingerprint(tiny_en)}",
        f"plan: cleanup rules; speakers off; settings {plan.out_hash}",
    ]


def test_a_plan_with_speakers_keys_diarization_as_main_did(tmp_path: Path, tiny_en: Path) -> None:
    plan, notes = _plan(tmp_path, cleanup="rules", speakers="auto", diarizer="embedding")
    asr_key = {**ASR_KEY, "model_files": model_fingerprint(tiny_en)}
    assert plan.raw_key == {**asr_key, **SPEAKERS_EXTRA}
    assert plan.out_key == {**asr_key, **SPEAKERS_EXTRA, **OUT_EXTRA, "speaker_names": [],
                            "lexicon": lexicon_fingerprint()}  # fmt: skip
    assert "speakers: embedding diarizer" in notes
    assert plan.header()[1].startswith("plan: cleanup rules; speakers auto (embedding on cpu); settings ")


def test_a_run_then_a_rerun_redoes_nothing_and_records_the_plans_hash(tmp_path: Path, tiny_en: Path) -> None:
    """What a run records is what the plan hashes (the old code's hash, see above), so a rerun skips it."""
    from transcriber.api import run

    settings = _settings(tmp_path, cleanup="rules", formats="txt,json")
    first = run(settings, Reporter(io.StringIO()))
    assert (first.done, first.skipped, first.failed) == (1, 0, [])
    stream = io.StringIO()
    again = run(settings, Reporter(stream))
    assert (again.done, again.skipped, again.failed) == (0, 1, [])
    assert "] transcribing" not in stream.getvalue()
    plan, _ = _plan(tmp_path, cleanup="rules", formats="txt,json")
    manifest = json.loads((tmp_path / "out" / ".transcriber" / "manifest.json").read_text())
    [entry] = manifest["files"].values()
    assert entry["settings_hash"] == plan.out_hash
    assert plan.out_key == {**ASR_KEY, "model_files": model_fingerprint(tiny_en), "cleanup": "rules",
                            "html_audio": "embed", "lexicon": lexicon_fingerprint()}  # fmt: skip
    written = json.loads((tmp_path / "out" / "note café.json").read_text())
    assert written["settings"] == plan.out_key


def test_a_ray_worker_checks_the_plan_against_its_own_node(tmp_path: Path, tiny_en: Path) -> None:
    """A worker whose node resolves the same models takes the plan; one resolving otherwise says why (and the
    pool drops it, as it drops one whose description differs)."""
    from transcriber.cluster.worker import Worker

    plan, _ = _plan(tmp_path, cleanup="rules")
    assert Worker(plan.settings, "10.0.0.1").use(plan) is None
    other = Worker(_settings(tmp_path, device="cpu", cleanup="rules", compute_type="float32"), "10.0.0.2")
    why = other.use(plan)
    assert why is not None and "its models resolve otherwise" in why and "'compute_type': 'float32'" in why


def test_the_python_api_runs_a_folder(tmp_path: Path, tiny_en: Path) -> None:
    import transcriber

    summary = transcriber.transcribe_folder(NOTE, tmp_path / "out", model="tiny.en", cleanup="rules", formats="json")
    assert (summary.done, summary.failed, summary.exit_code) == (1, [], 0)
    meeting = transcriber.Transcript.from_json((tmp_path / "out" / "note café.json").read_text())
    assert meeting.source == "note café.ogg" and meeting.verbatim_text.strip()
    with pytest.raises(TypeError, match="unknown settings modle"):
        transcriber.transcribe_folder(NOTE, tmp_path / "out", modle="tiny.en")


def test_the_header_says_no_vad_decodes_in_order(tmp_path: Path, tiny_en: Path) -> None:
    """--no-vad leaves no speech regions to batch by, so the recogniser decodes in order: the header says so,
    while the hash keeps the batch size it always had (no earlier output is redone)."""
    plan, _ = _plan(tmp_path, cleanup="rules", vad=False)
    assert plan.header()[0].endswith(f"int8, batch 1 (--no-vad decodes in order), files {model_fingerprint(tiny_en)}")
    assert plan.asr_key["batch_size"] == 8
