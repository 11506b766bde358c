"""Measure the embedding diarizer on the test dialogues: DER, speaker count and real-time factor on this CPU.

Prints numbers and asserts nothing. DER is ours (transcriber.diarize.der), with no collar and with the
0.25 s collar NIST used; where pyannote.metrics is installed it is printed beside ours as a cross-check.
The real-time factor is diarization seconds per audio second, after one warm-up file (model load and
numba's first compile excluded; the load is printed on its own).

    python scripts/bench_diarize.py [--threads N] [--speakers auto|N] [FILE.ogg ...]
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "diarize"


def pyannote_der(reference: list, hypothesis: list, collar: float) -> float:
    """pyannote.metrics' DER; its collar is the total width around a boundary, ours the width on each side."""
    import warnings

    from pyannote.core import Annotation, Segment
    from pyannote.metrics.diarization import DiarizationErrorRate

    def annotation(turns: list) -> Annotation:
        out = Annotation()
        for t in turns:
            out[Segment(t.start, t.end)] = t.speaker
        return out

    warnings.filterwarnings("ignore", message="'uem' was approximated")
    return float(DiarizationErrorRate(collar=2 * collar)(annotation(reference), annotation(hypothesis)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, default=sorted(FIXTURES.glob("*.ogg")))
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (the encoder itself uses one)")
    parser.add_argument("--speakers", default="auto")
    args = parser.parse_args()
    import torch

    from transcriber.audio import decode
    from transcriber.diarize.der import der, read_rttm
    from transcriber.diarize.embedding import EmbeddingDiarizer

    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    diarizer = EmbeddingDiarizer(None if args.speakers == "auto" else int(args.speakers))
    print(f"encoder load {time.perf_counter() - started:.2f} s; torch threads {torch.get_num_threads()}")
    diarizer.turns(decode(args.files[0]).samples[: 16000 * 5])  # warm-up
    cross = importlib.util.find_spec("pyannote.metrics") is not None
    print(f"{'file':<22} {'audio s':>7} {'spk':>4} {'ref':>4} {'DER':>6} {'DER c.25':>8} {'miss':>5} {'FA':>5} "
          f"{'conf':>5} {'RTF':>6}" + ("  pyannote.metrics DER / c.25" if cross else ""))  # fmt: skip
    total_audio = total_seconds = 0.0
    for path in args.files:
        samples = decode(path).samples
        started = time.perf_counter()
        turns = diarizer.turns(samples)
        seconds = time.perf_counter() - started
        audio = len(samples) / 16000
        total_audio, total_seconds = total_audio + audio, total_seconds + seconds
        reference = read_rttm(path.with_suffix(".rttm"))
        score, collared = der(reference, turns), der(reference, turns, collar=0.25)
        line = (f"{path.stem:<22} {audio:>7.1f} {len({t.speaker for t in turns}):>4} "
                f"{len({t.speaker for t in reference}):>4} {score.der:>6.3f} {collared.der:>8.3f} {score.missed:>5.3f} "
                f"{score.false_alarm:>5.3f} {score.confusion:>5.3f} {seconds / audio:>6.3f}")  # fmt: skip
        if cross:
            line += f"  {pyannote_der(reference, turns, 0):.3f} / {pyannote_der(reference, turns, 0.25):.3f}"
        print(line)
    print(f"all: {total_audio:.1f} s of audio diarized in {total_seconds:.2f} s, RTF {total_seconds / total_audio:.3f}")


if __name__ == "__main__":
    main()
