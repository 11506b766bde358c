"""pyannote.audio's speaker-diarization-community-1 pipeline, from a local copy of its weights only.

The Hub asks for a token to fetch these weights once; at run time nothing is fetched and no token is
read: the pipeline is built from a folder (the Hugging Face cache's snapshot, or one the user gives) that
holds its `config.yaml` and the models it names.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from transcriber.audio import SAMPLE_RATE
from transcriber.catalog import PYANNOTE_FILES, PYANNOTE_REPO
from transcriber.diarize import Count, Turn

__all__ = ["PYANNOTE_REPO", "PyannoteDiarizer", "cached_pipeline"]


def cached_pipeline(cache_dir: Path | None = None) -> Path | None:
    """The cached snapshot folder of `PYANNOTE_REPO` in `cache_dir` (default: the `HF_HOME` cache), or None."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        folder = Path(
            snapshot_download(
                PYANNOTE_REPO, cache_dir=cache_dir, local_files_only=True, allow_patterns=list(PYANNOTE_FILES)
            )
        )
    except (LocalEntryNotFoundError, OSError, ValueError):
        return None
    return folder if (folder / "config.yaml").is_file() else None


class PyannoteDiarizer:
    """The pyannote pipeline on the GPU when torch sees one; `count` fixes or bounds the number of speakers."""

    name = "pyannote"

    def __init__(self, folder: Path, count: Count, device: str) -> None:
        import torch
        from pyannote.audio import Pipeline

        self.count = count
        self.pipeline = Pipeline.from_pretrained(folder)
        if device != "cpu":  # resolved with the plan (`select.place`): "cuda" only where torch sees the GPU
            self.pipeline.to(torch.device(device))

    def turns(self, samples: np.ndarray) -> list[Turn]:
        import torch

        audio = {"waveform": torch.from_numpy(samples).unsqueeze(0), "sample_rate": SAMPLE_RATE}
        count = self.count
        bounds = {} if count.exact else {"min_speakers": count.least, "max_speakers": count.most}
        output = self.pipeline(audio, num_speakers=count.exact, **bounds)
        # pyannote.audio 4 returns both; the exclusive one (one speaker at a time) is the one to put on words
        annotation = getattr(output, "exclusive_speaker_diarization", output)
        return [Turn(s.start, s.end, str(label)) for s, _, label in annotation.itertracks(yield_label=True)]
