"""Finding recordings: recursion, hidden files, the output folder, symlink loops, odd names, and every container
FFmpeg reads (what is not a recording is listed with its reason)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.runs import RECORDINGS, ffmpeg, run_cli
from transcriber.discovery import NAME_MAX, OUTPUT_SUFFIXES, discover, plan_stems
from transcriber.errors import ConfigError

NOTE = RECORDINGS / "notes" / "note café.ogg"


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_walks_recursively_and_mirrors_the_tree(tmp_path: Path) -> None:
    _touch(tmp_path / "a.wav")
    _touch(tmp_path / "sub dir" / "Ünïcödé talk.M4A")
    _touch(tmp_path / "deep" / "er" / "clip.mp4")
    _touch(tmp_path / "readme.txt")
    found = discover(tmp_path, tmp_path / "elsewhere")
    assert [r.relative.as_posix() for r in found] == ["a.wav", "deep/er/clip.mp4", "sub dir/Ünïcödé talk.M4A"]
    assert [r.output_stem.as_posix() for r in found] == ["a", "deep/er/clip", "sub dir/Ünïcödé talk"]


def test_skips_hidden_files_and_the_output_folder(tmp_path: Path) -> None:
    _touch(tmp_path / ".secret.wav")
    _touch(tmp_path / ".cache" / "x.wav")
    _touch(tmp_path / "transcripts" / "old.wav")
    _touch(tmp_path / "keep.wav")
    found = discover(tmp_path, tmp_path / "transcripts")
    assert [r.relative.as_posix() for r in found] == ["keep.wav"]


def test_symlink_loops_end(tmp_path: Path) -> None:
    _touch(tmp_path / "music" / "song.flac")
    (tmp_path / "music" / "loop").symlink_to(tmp_path, target_is_directory=True)
    found = discover(tmp_path, tmp_path / "out")
    assert [r.relative.as_posix() for r in found] == ["music/song.flac"]


def test_one_file_as_input(tmp_path: Path) -> None:
    target = _touch(tmp_path / "one.ogg")
    found = discover(target, tmp_path / "out")
    assert [(r.path, r.output_stem.as_posix()) for r in found] == [(target, "one")]


def test_a_folder_named_like_audio_is_listed_to_be_reported(tmp_path: Path) -> None:
    (tmp_path / "trap.wav").mkdir()
    _touch(tmp_path / "trap.wav" / "inner.wav")
    found = discover(tmp_path, tmp_path / "out")
    assert [r.relative.as_posix() for r in found] == ["trap.wav"]


def _all_outputs(found: list) -> list[str]:
    return [f"{r.output_stem.as_posix()}.{suffix}".casefold() for r in found for suffix in OUTPUT_SUFFIXES]


def test_output_names_never_collide(tmp_path: Path) -> None:
    for name in ("talk.wav", "talk.mp3", "talk.wav.mp3", "memo.wav", "memo.verbatim.wav", "Case.wav", "case.flac"):
        _touch(tmp_path / name)
    _touch(tmp_path / "x.wav")
    _touch(tmp_path / "x.txt" / "inner.wav")  # a folder the outputs of x.wav would otherwise block
    found = discover(tmp_path, tmp_path / "out")
    stems = {r.relative.as_posix(): r.output_stem.as_posix() for r in found}
    assert stems["talk.wav"] == "talk.wav"
    assert stems["talk.mp3"] == "talk.mp3"
    assert stems["talk.wav.mp3"] == "talk.wav.mp3"  # "talk.wav" was taken by the outputs of talk.wav
    assert stems["memo.wav"] == "memo.wav"
    assert stems["memo.verbatim.wav"] == "memo.verbatim.wav"
    assert stems["x.wav"] == "x.wav"
    assert stems["x.txt/inner.wav"] == "x.txt/inner"
    assert {stems["Case.wav"], stems["case.flac"]} == {"Case.wav", "case.flac"}
    outputs = _all_outputs(found)
    assert len(outputs) == len(set(outputs))


def test_output_names_are_the_same_whatever_the_order(tmp_path: Path) -> None:
    names = [Path(n) for n in ("b.wav", "b.mp3", "a.wav", "b.wav.mp3", "a.verbatim.mp3")]
    forward = dict(zip(names, plan_stems(names), strict=True))
    backward = dict(zip(names[::-1], plan_stems(names[::-1]), strict=True))
    assert forward == backward


def test_long_names_are_cut_to_fit_with_a_hash(tmp_path: Path) -> None:
    long_a = "interview " + "é" * 118 + ".wav"  # 250 bytes: a legal input name, too long for its outputs
    long_b = long_a[:-5] + "X.wav"
    for name in (long_a, long_b):
        _touch(tmp_path / name)
    found = discover(tmp_path, tmp_path / "out")
    stems = [r.output_stem.name for r in found]
    assert all(len(os.fsencode(f"{s}.verbatim.txt")) <= NAME_MAX for s in stems)
    assert len(set(stems)) == 2 and all("~" in s for s in stems)
    assert all(s.startswith("interview éé") for s in stems)


def test_names_that_are_not_utf8_are_found_and_kept_as_bytes(tmp_path: Path) -> None:
    os.close(os.open(os.path.join(os.fsencode(tmp_path), b"caf\xe9.wav"), os.O_CREAT | os.O_WRONLY))
    found = discover(tmp_path, tmp_path / "out")
    assert [os.fsencode(r.output_stem) for r in found] == [b"caf\xe9"]


def _recording(path: Path, *codec: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ffmpeg("-i", str(NOTE), *codec, str(path))
    return path


def test_every_container_ffmpeg_reads_is_found_and_the_rest_listed(tmp_path: Path) -> None:
    inp = tmp_path / "in"
    for name in ("a.mka", "b.m4b", "c.wmv", "d.mts"):
        _recording(inp / name)
    _recording(inp / "phone" / "call.recording", "-f", "ogg")  # an unknown suffix: probed
    _touch(inp / "odd.dat")  # probed: not media
    _touch(inp / "readme.txt")  # plainly not media: neither probed nor listed
    _recording(inp / "out" / "stray.wav")  # inside --output
    ignored: list[tuple[Path, str]] = []
    found = discover(inp, inp / "out", [], ignored)
    assert [r.relative.as_posix() for r in found] == ["a.mka", "b.m4b", "c.wmv", "d.mts", "phone/call.recording"]
    assert [(p.relative_to(inp).as_posix(), why) for p, why in ignored] == [
        ("odd.dat", "not a format FFmpeg can read"),
        ("out/stray.wav", "inside the --output folder, which is never read as input"),
    ]


def test_the_input_as_its_own_output_is_refused_in_words(tmp_path: Path) -> None:
    _touch(tmp_path / "a.wav")
    with pytest.raises(ConfigError, match="--input and --output are the same folder"):
        discover(tmp_path, tmp_path)


@pytest.mark.usefixtures("tiny_en")
def test_the_summary_lists_what_was_not_transcribed(tmp_path: Path) -> None:
    inp = tmp_path / "in"
    _recording(inp / "memo.mka")
    _touch(inp / "odd.dat")
    result = run_cli("run", "-i", str(inp), "-o", str(tmp_path / "out"), "--model", "tiny.en", "--formats", "txt")
    assert result.returncode == 0, result.stderr
    assert "1 done, 0 skipped, 0 failed" in result.stderr
    assert f"not transcribed: {inp / 'odd.dat'}: not a format FFmpeg can read" in result.stderr
    assert "appointment" in (tmp_path / "out" / "memo.txt").read_text().lower()
