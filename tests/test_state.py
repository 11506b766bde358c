"""State and writes: fingerprints that decide redo, names with undecodable bytes, all-or-none outputs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import transcriber.shared
from tests.conftest import RECORDINGS
from transcriber.fingerprint import lexicon_fingerprint, model_fingerprint
from transcriber.state import Manifest
from transcriber.writers import TEMP_SUFFIX, write_all_atomic

NOTE = RECORDINGS / "notes" / "note café.ogg"


def test_model_fingerprint_follows_the_files(tmp_path: Path, tiny_en: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(tiny_en, copy)
    before = model_fingerprint(copy)
    assert before == model_fingerprint(tiny_en) and len(before) == 16
    config = copy / "config.json"
    config.write_text(config.read_text() + " ")
    assert model_fingerprint(copy) != before
    assert model_fingerprint(None) == ""


def test_lexicon_fingerprint_is_the_same_in_every_process() -> None:
    code = "from transcriber.fingerprint import lexicon_fingerprint; print(lexicon_fingerprint())"
    seen = {
        subprocess.run(
            [sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": seed}, capture_output=True, text=True
        ).stdout.strip()
        for seed in ("1", "2", "3")
    }
    assert seen == {lexicon_fingerprint()}


def test_manifest_keeps_undecodable_names_exactly(tmp_path: Path) -> None:
    name = os.fsdecode(b"caf\xe9/t\xffk.wav")
    manifest = Manifest(tmp_path, print)
    manifest.record(name, "digest", "settings", [name + ".txt"])
    json.loads((tmp_path / ".transcriber" / "manifest.json").read_text(encoding="utf-8"))  # valid UTF-8 JSON
    assert Manifest(tmp_path, print).entries == {name: manifest.entries[name]}


def test_outputs_are_written_all_or_none(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("old a")
    real_replace = os.replace
    calls = []

    def replace(src: str, dst: Path) -> None:
        calls.append(dst)
        if len(calls) == 2:
            raise PermissionError(13, "Permission denied", str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(transcriber.shared.os, "replace", replace)
    with pytest.raises(PermissionError):
        write_all_atomic([(tmp_path / "a.txt", "new a"), (tmp_path / "b.txt", "new b")])
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "no half set, no temp files"
    monkeypatch.undo()
    write_all_atomic([(tmp_path / os.fsdecode(b"\xe9.txt"), os.fsdecode(b"caf\xe9"))])
    assert (tmp_path / os.fsdecode(b"\xe9.txt")).read_bytes() == b"caf\xe9"
    assert not list(tmp_path.glob(f"*{TEMP_SUFFIX}"))
