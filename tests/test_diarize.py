"""Speaker diarization on real espeak-ng dialogues with the real resemblyzer encoder and Silero VAD.

The recordings in tests/fixtures/diarize/ (made by make_dialogues.py there) have RTTM references with
exact turn boundaries, so DER is measured, not eyeballed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.runs import load_transcripts, run_cli
from transcriber.diarize import Turn
from transcriber.diarize.assign import assign_speakers, rename
from transcriber.diarize.der import der, read_rttm, speaker_word_accuracy, speaker_word_counts
from transcriber.diarize.pyannote import PYANNOTE_REPO, cached_pipeline
from transcriber.diarize.select import choose, choose_here, place
from transcriber.errors import ConfigError
from transcriber.transcript import Segment, Transcript, Word

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "diarize"
VOICES = FIXTURES / "voices"


@pytest.fixture(scope="module")
def encoder_ready() -> None:
    pytest.importorskip("resemblyzer", reason="pip install -e '.[diarize]' && pip install --no-deps resemblyzer")


def _diarize(stem: str, speakers: int | None) -> list[Turn]:
    from transcriber.audio import decode
    from transcriber.diarize.embedding import EmbeddingDiarizer

    return EmbeddingDiarizer(speakers).turns(decode(FIXTURES / f"{stem}.ogg").samples)


@pytest.mark.slow
@pytest.mark.parametrize(("stem", "count"), [("two_speakers", 2), ("three_speakers", 3), ("one_speaker", 1)])
def test_embedding_diarizer_finds_the_speakers_and_their_turns(encoder_ready: None, stem: str, count: int) -> None:
    turns = _diarize(stem, None)
    assert len({t.speaker for t in turns}) == count
    assert der(read_rttm(FIXTURES / f"{stem}.rttm"), turns).der < 0.15


@pytest.mark.slow
def test_a_fixed_speaker_count_is_kept(encoder_ready: None) -> None:
    turns = _diarize("three_speakers", 2)
    assert len({t.speaker for t in turns}) == 2


@pytest.mark.slow
def test_a_count_above_what_the_speech_holds_is_capped(encoder_ready: None) -> None:
    assert len({t.speaker for t in _diarize("two_speakers", 99)}) == 2
    assert len({t.speaker for t in _diarize("three_speakers", 99)}) == 3


def test_der_maps_labels_and_counts_each_error_kind() -> None:
    ref = [Turn(0, 4, "a"), Turn(4, 8, "b")]
    assert der(ref, [Turn(0, 4, "x"), Turn(4, 8, "y")]).der == pytest.approx(0.0)
    half = der(ref, [Turn(0, 8, "x")])
    assert (half.der, half.confusion) == (pytest.approx(0.5), pytest.approx(0.5))
    missed = der(ref, [Turn(0, 4, "x")])
    assert (missed.missed, missed.false_alarm) == (pytest.approx(0.5), 0.0)
    extra = der(ref, [Turn(0, 4, "x"), Turn(4, 10, "y")])
    assert extra.false_alarm == pytest.approx(0.25)
    assert der(ref, [Turn(0, 4.2, "x"), Turn(4.2, 8, "y")], collar=0.25).der == pytest.approx(0.0)


def _words(*spans: tuple[float, float, str]) -> list[Word]:
    return [Word(start, end, f" {text}") for start, end, text in spans]


def test_every_word_inside_a_reference_turn_is_scored_not_only_those_in_a_speakers_last_turn() -> None:
    """Each word is scored against all of its speaker's turns (it was scored against each speaker's last
    turn only, so a meeting's words were mostly left out, and a meeting with few turns had none scored)."""
    reference = [Turn(0, 2, "a"), Turn(2, 4, "b"), Turn(4, 6, "a"), Turn(6, 8, "b")]
    words = _words((0.5, 1, "one"), (2.5, 3, "two"), (4.5, 5, "three"), (6.5, 7, "four"), (8.5, 9, "after"))
    transcript = Transcript("x.wav", 9.0, "en", "m", "e", segments=[Segment(0, 0.0, 9.0, "", words=words)])
    assign_speakers(transcript, [Turn(0, 2, "x"), Turn(2, 4, "y"), Turn(4, 6, "x"), Turn(6, 8, "x")])
    assert speaker_word_counts(reference, transcript) == (3, 4)  # "four" is on x, not b; "after" in no turn


def test_words_take_the_speaker_they_overlap_and_segments_split_at_changes() -> None:
    words = _words((0, 1, "Hello"), (1, 2.1, "there."), (2.6, 3, "Hi."))
    segment = Segment(0, 0.0, 4.0, "Hello there. Hi.", words=words)
    silent = Segment(1, 5.0, 6.0, "[music]")
    transcript = Transcript("x.wav", 6.0, "en", "m", "e", segments=[segment, silent])
    assign_speakers(transcript, [Turn(0.2, 2.0, "B"), Turn(2.5, 3.2, "A"), Turn(5.2, 6.0, "A")])
    assert [(s.speaker, s.text, s.start, s.end) for s in transcript.segments] == [
        ("S1", "Hello there.", 0.0, 2.1),
        ("S2", "Hi.", 2.6, 4.0),
        ("S2", "[music]", 5.0, 6.0),
    ]
    assert [w.speaker for s in transcript.segments for w in s.words] == ["S1", "S1", "S2"]
    assert [s.id for s in transcript.segments] == [0, 1, 2]
    assert [(s.id, s.name) for s in transcript.speakers] == [("S1", "Speaker 1"), ("S2", "Speaker 2")]
    rename(transcript, ["Ana", ""])
    assert [s.name for s in transcript.speakers] == ["Ana", "Speaker 2"]
    again = Transcript.from_json(transcript.to_json())
    assert again == transcript


def test_a_transcript_without_speakers_still_reads() -> None:
    data = json.loads(Transcript("x.wav", 1.0, "en", "m", "e", segments=[Segment(0, 0, 1, "Hi.")]).to_json())
    del data["speakers"]
    for segment in data["segments"]:
        del segment["speaker"]
    assert Transcript.from_dict(data).speakers == []


def test_pyannote_runs_only_when_asked_for_and_says_what_it_lacks(tmp_path: Path) -> None:
    assert choose("auto", False, True, tmp_path).kind == "embedding"  # cached community-1 is not taken by auto
    with pytest.raises(ConfigError, match=r"pip install pyannote\.audio"):
        choose("pyannote", True, False, tmp_path)
    with pytest.raises(ConfigError, match="not in the model cache"):
        choose("pyannote", True, True, None)
    with pytest.raises(ConfigError, match=r"no config\.yaml"):
        choose(str(tmp_path), True, True, None)
    (tmp_path / "config.yaml").write_text("pipeline: {}\n")
    chosen = choose(str(tmp_path), True, True, None)
    assert (chosen.kind, chosen.folder) == ("pyannote", tmp_path)


def test_the_pyannote_pipeline_is_found_in_a_hugging_face_cache_without_the_network(tmp_path: Path) -> None:
    assert cached_pipeline(tmp_path) is None
    repo = tmp_path / f"models--{PYANNOTE_REPO.replace('/', '--')}"
    snapshot = repo / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    assert cached_pipeline(tmp_path) is None  # a snapshot without its config.yaml is not a pipeline
    (snapshot / "config.yaml").write_text("pipeline: {}\n")
    assert cached_pipeline(tmp_path) == snapshot


@pytest.fixture(scope="module")
def diarized_run(tmp_path_factory: pytest.TempPathFactory, tiny_en: Path, encoder_ready: None) -> Path:
    """One real `transcriber run --speakers auto --voices` over the three dialogues, with the light fallback."""
    out = tmp_path_factory.mktemp("diarized")
    args = [
        "run",
        "-i",
        str(FIXTURES),
        "-o",
        str(out),
        "--model",
        "tiny.en",
        "--speakers",
        "auto",
        "--diarizer",
        "embedding",
    ]
    result = run_cli(*args, "--voices", str(VOICES))
    assert result.returncode == 0, result.stderr
    assert "speakers: embedding diarizer" in result.stderr
    return out


@pytest.mark.slow
def test_voice_samples_name_the_speakers_they_match_and_no_other(diarized_run: Path) -> None:
    transcripts = load_transcripts(diarized_run)
    names = {source: [s["name"] for s in data["speakers"]] for source, data in transcripts.items()}
    assert names["two_speakers.ogg"] == ["Ana", "Ben"]
    assert names["three_speakers.ogg"] == ["Ana", "Ben", "Speaker 3"]  # Cid has no sample
    assert names["one_speaker.ogg"] == ["Ben"]


@pytest.mark.slow
def test_recognised_words_carry_the_right_speaker(diarized_run: Path) -> None:
    for stem in ("two_speakers", "three_speakers"):
        transcript = Transcript.from_json((diarized_run / f"{stem}.json").read_text())
        assert all(w.speaker for s in transcript.segments for w in s.words)
        accuracy = speaker_word_accuracy(read_rttm(FIXTURES / f"{stem}.rttm"), transcript)
        assert accuracy is not None and accuracy > 0.95


@pytest.mark.slow
def test_every_format_carries_the_speaker_labels(diarized_run: Path) -> None:
    files = {ext: (diarized_run / f"two_speakers.{ext}").read_text() for ext in ("txt", "md", "srt", "vtt", "json")}
    assert files["txt"].startswith("Ana: Good morning") and "\n\nBen: Morning" in files["txt"]
    assert "**Ana:** Good morning" in files["md"] and "| Speakers | Ana, Ben |" in files["md"]
    assert "\nAna: Good morning" in files["srt"] and "\nBen: Morning" in files["srt"]
    assert "\n<v Ana>Good morning" in files["vtt"] and "\n<v Ben>Morning" in files["vtt"]
    data = json.loads(files["json"])
    assert {s["speaker"] for s in data["segments"]} == {"S1", "S2"}
    assert all(w["speaker"] in ("S1", "S2") for s in data["segments"] for w in s["words"])
    assert (diarized_run / "two_speakers.verbatim.txt").read_text().startswith("Ana: Good morning")


@pytest.mark.slow
def test_new_speaker_names_rerender_without_recognition_or_diarization(diarized_run: Path, tmp_path: Path) -> None:
    import shutil

    out = tmp_path / "out"
    shutil.copytree(diarized_run, out)
    args = ["run", "-i", str(FIXTURES / "two_speakers.ogg"), "-o", str(out), "--model", "tiny.en"]
    more = ["--speakers", "auto", "--diarizer", "embedding", "--voices", str(VOICES), "--speaker-names", "Host,Guest"]
    result = run_cli(*args, *more)
    assert result.returncode == 0, result.stderr
    assert "] transcribing" not in result.stderr and "] diarizing" not in result.stderr
    assert (out / "two_speakers.txt").read_text().startswith("Host: Good morning")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--speakers", "many"], "--speakers='many' must be auto, off or a number"),
        (["--voices", "/nonexistent/voices"], "--voices /nonexistent/voices: is not a folder"),
        (["--speakers", "2", "--diarizer", "pyannote"], "pyannote"),
    ],
)
def test_bad_speaker_settings_are_usage_errors(tmp_path: Path, flags: list[str], message: str) -> None:
    result = run_cli("run", "-i", str(FIXTURES / "one_speaker.ogg"), "-o", str(tmp_path), "--model", "tiny.en", *flags)
    assert result.returncode == 2
    assert message in result.stderr


@pytest.mark.usefixtures("tiny_en")
def test_a_voice_sample_that_is_not_audio_stops_the_run_before_recognition(tmp_path: Path) -> None:
    voices = tmp_path / "voices"
    voices.mkdir()
    (voices / "Ana.ogg").write_bytes((VOICES / "Ana.ogg").read_bytes())
    (voices / "Ben.wav").write_text("not a recording, a note saying where Ben's sample is")
    out = tmp_path / "out"
    result = run_cli("run", "-i", str(FIXTURES / "one_speaker.ogg"), "-o", str(out), "--model", "tiny.en",
                     "--voices", str(voices))  # fmt: skip
    assert result.returncode == 2, result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert line.startswith(f"error: --voices: {voices / 'Ben.wav'}: decode: ")
    assert "] transcribing" not in result.stderr and not (out / ".transcriber" / "raw").exists(), "nothing ran"


@pytest.mark.slow
def test_bench_scores_der_jer_count_and_speaker_words_where_an_rttm_exists(tmp_path: Path, tiny_en: Path) -> None:
    import shutil

    folder = tmp_path / "corpus"
    folder.mkdir()
    for name in ("two_speakers.ogg", "two_speakers.rttm", "two_speakers.ref.txt"):
        shutil.copy(FIXTURES / name, folder / name)
    out = tmp_path / "report"
    configs = "name=speakers,model=tiny.en,speakers=auto,diarizer=embedding; name=plain,model=tiny.en"
    result = run_cli("bench", "--input", str(folder), "--output", str(out), "--quiet", "--configs", configs)
    assert result.returncode == 0, result.stderr
    rows = {row["config"]["name"]: row["all"] for row in json.loads((out / "results.json").read_text())["rows"]}
    assert rows["speakers"]["der"] < 0.15 and rows["speakers"]["speaker_words"] > 0.95
    assert rows["speakers"]["jer"] < 0.2 and rows["speakers"]["speaker_count"] == 1.0
    assert rows["plain"]["der"] is None and rows["plain"]["speaker_words"] is None and rows["plain"]["jer"] is None
    report = (out / "report.md").read_text()
    assert "## Diarization error rate" in report and "## Speaker-attributed word accuracy" in report
    assert "## Jaccard error rate" in report


def test_speaker_settings_change_the_hashes_only_when_speakers_are_on() -> None:
    from transcriber.settings import load_settings

    off = load_settings({"input": ".", "output": "."}, environ={})
    key = off.asr_key("tiny.en", "cpu", "int8")
    assert off.speakers == "off"
    assert off.output_key(key) == {**key, "cleanup": off.cleanup, "html_audio": off.html_audio}  # formats: not hashed
    assert load_settings({"input": ".", "output": ".", "voices": str(VOICES)}, environ={}).speakers == "auto"
    named = load_settings({"input": ".", "output": ".", "speakers": "2", "speaker_names": "Ana, Ben"}, environ={})
    assert (named.speaker_count, named.speaker_names) == (2, ("Ana", "Ben"))
    assert named.output_key(key)["speaker_names"] == ["Ana", "Ben"]
    from_env = load_settings({"input": ".", "output": "."}, environ={"TRANSCRIBER_SPEAKERS": "AUTO"})
    assert from_env.speakers == "auto" and from_env.speaker_count is None


def test_the_diarizer_runs_where_the_run_does_and_says_so_when_torch_sees_no_gpu() -> None:
    neural = choose("auto", True, False, None)
    on_cpu = place(neural, "cpu", "AMD Radeon RX 7700 XT")
    assert on_cpu.device == "cpu" and on_cpu.note.endswith("on the CPU")
    on_gpu = place(neural, "cuda", "AMD Radeon RX 7700 XT")
    assert on_gpu.device == "cuda" and "on the GPU (AMD Radeon RX 7700 XT)" in on_gpu.note
    stranded = place(neural, "cuda", None)  # a CPU build of torch beside a GPU CTranslate2
    assert stranded.device == "cpu" and "this torch sees no GPU although the run is on cuda" in stranded.note
    assert "--device cpu" in stranded.note
    assert stranded.key == on_gpu.key == "neural"  # the same result wherever it runs: no rerun for a move


def test_this_machines_torch_decides_where_a_gpu_run_diarizes() -> None:
    torch = pytest.importorskip("torch", reason="the diarizers run on torch")
    choice = choose_here("embedding", "cuda")
    if torch.cuda.is_available():
        assert choice.device == "cuda" and "on the GPU" in choice.note
    else:
        assert choice.device == "cpu" and "this torch sees no GPU" in choice.note
