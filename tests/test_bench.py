"""`transcriber bench`: metrics on hand-made pairs, and a real run with tiny.en on the example recordings."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.support.runs import RECORDINGS, run_cli
from transcriber.bench.metrics import Counts, score
from transcriber.bench.runner import parse_configs
from transcriber.errors import ConfigError

REFERENCE = "Um, so we need the, the budget by Friday."
CLEAN_REFERENCE = "So we need the budget by Friday."


def test_perfect_transcript_and_cleanup() -> None:
    counts = score(REFERENCE, CLEAN_REFERENCE, REFERENCE, CLEAN_REFERENCE)
    rates = counts.rates()
    assert (rates["wer"], rates["clean_wer"], counts.invented) == (0.0, 0.0, 0)
    assert (rates["filler_recall"], rates["filler_precision"]) == (1.0, 1.0)
    assert (rates["hesitation_recall"], rates["repetition_recall"], rates["marker_recall"]) == (1.0, 1.0, None)


def test_known_wer_and_insertions() -> None:
    counts = score("so we need the budget by monday", "so we need the budget by monday please", REFERENCE,
                   CLEAN_REFERENCE)  # fmt: skip
    # Whisper's normalizer drops "um"; the verbatim reference is "so we need the the budget by friday" (8 words):
    # one "the" deleted and friday -> monday substituted.
    assert counts.ref_words == 8 and counts.errors == 2
    # Against the clean reference (7 words): one substitution and one insertion ("please").
    assert counts.clean_ref_words == 7 and counts.clean_errors == 2 and counts.invented == 1
    assert counts.removal_total("want") == 0, "a misheard word (monday) is not a disfluency to remove"


def test_filler_recall_and_precision_by_category() -> None:
    # The system heard "um" and both "the"s, removed "um" (right) and "budget" (wrong), kept the repetition.
    counts = score(REFERENCE, "So we need the the by Friday.", REFERENCE, CLEAN_REFERENCE)
    assert [counts.removal_total(kind) for kind in ("want", "done", "right")] == [2, 2, 1]
    rates = counts.rates()
    assert rates["filler_recall"] == 0.5 and rates["filler_precision"] == 0.5
    assert (rates["hesitation_recall"], rates["hesitation_precision"]) == (1.0, 1.0)
    assert (rates["repetition_recall"], rates["repetition_precision"]) == (0.0, None)
    assert (rates["other_recall"], rates["other_precision"]) == (None, 0.0)


def test_markers_come_from_the_transcripts_language() -> None:
    said = "Ich glaube, weißt du, das Team in Berlin schafft das."
    clean = "Ich glaube, das Team in Berlin schafft das."
    german = score(said, clean, said, clean, language="de").rates()
    assert (german["marker_recall"], german["marker_precision"], german["other_recall"]) == (1.0, 1.0, None)
    unknown = score(said, clean, said, clean, language="ja").rates()
    assert (unknown["marker_recall"], unknown["other_recall"]) == (None, 1.0), "no lexicon: no marker category"


def test_no_cleanup_has_no_precision_and_missing_references_give_none() -> None:
    rates = score(REFERENCE, REFERENCE, None, None).rates()
    assert rates["wer"] is None and rates["clean_wer"] is None and rates["filler_precision"] is None
    total = score(REFERENCE, REFERENCE, REFERENCE, None) + score(REFERENCE, CLEAN_REFERENCE, REFERENCE, CLEAN_REFERENCE)
    assert isinstance(total, Counts) and total.ref_words == 16 and total.clean_ref_words == 7
    assert total.removal_total("want") == 2 and total.removal_total("right", "hesitation") == 1


def test_config_specs(tmp_path: Path) -> None:
    configs = parse_configs("tiny.en; model=tiny.en,cleanup=none,compute-type=int8")
    assert [c.settings.model for c in configs] == ["tiny.en", "tiny.en"]
    assert configs[1].settings.cleanup == "none" and configs[1].settings.compute_type == "int8"
    spec = tmp_path / "configs.toml"
    spec.write_text('[[config]]\nname = "fast"\nmodel = "tiny.en"\nbatch_size = 4\n')
    (config,) = parse_configs(str(spec))
    assert (config.name, config.settings.batch_size) == ("fast", 4)
    with pytest.raises(ConfigError, match="unknown keys"):
        parse_configs("model=tiny.en,colour=blue")
    with pytest.raises(ConfigError, match="--cleanup='magic'"):
        parse_configs("model=tiny.en,cleanup=magic")


@pytest.mark.usefixtures("tiny_en")
def test_real_bench_run_writes_a_consistent_report(tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = run_cli(
        "bench", "--input", str(RECORDINGS), "--output", str(out), "--quiet",
        "--configs", "name=rules,model=tiny.en; name=verbatim,model=tiny.en,cleanup=none",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads((out / "results.json").read_text())
    names = [row["config"]["name"] for row in data["rows"]]
    assert names == ["rules", "verbatim", "faster-whisper plain tiny.en"]
    assert len(data["recordings"]) == 3
    report = (out / "report.md").read_text()
    for title in ("WER against the verbatim reference", "WER against the clean reference", "Filler recall",
                  "Words invented", "Real-time factor", "Model load time", "Peak RAM"):  # fmt: skip
        assert f"## {title}" in report
    section = report.split("## WER against the clean reference")[1].split("\n## ")[0]
    header = next(line for line in section.splitlines() if line.startswith("| configuration"))
    assert header.count("|") == len(data["recordings"]) + 3
    for row in data["rows"]:
        line = next(x for x in section.splitlines() if x.startswith(f"| {row['config']['name']} |"))
        shown = float(re.sub(r"[*]", "", line.split("|")[-2]).strip())
        assert shown == pytest.approx(row["all"]["clean_wer"], abs=0.0005)
    rules, verbatim, plain = (row["all"] for row in data["rows"])
    assert rules["clean_wer"] < verbatim["clean_wer"], "rules cleanup should move the text towards the clean reference"
    assert rules["filler_recall"] > 0.5 and verbatim["filler_recall"] == 0.0
    # The examples hold hesitations ("um", "uh"), a marker ("you know") and a repetition ("can, can").
    assert rules["hesitation_recall"] == 1.0 and rules["marker_recall"] == 1.0 and rules["repetition_recall"] == 1.0
    assert verbatim["hesitation_precision"] is None and plain["hesitation_recall"] == 0.0
    table = report.split("## Disfluency removal by category")[1].split("\n## ")[0]
    assert f"| rules | {rules['hesitation_recall']:.2f} / {rules['hesitation_precision']:.2f} |" in table
    assert plain["rtf"] > 0 and plain["load_seconds"] > 0 and plain["peak_ram_mb"] > 50
    assert f"**{rules['clean_wer']:.3f}**" in section
    import matplotlib.image

    image = matplotlib.image.imread(out / "chart.png")
    assert image.shape[0] > 100 and image.shape[1] > 100
