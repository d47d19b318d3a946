"""Greedy text generation with the exported language model on onnxruntime.

    python examples/offchain_lm/generate.py "The chain" --tokens 120

Deterministic: each step feeds the last ``context`` bytes to ``model.onnx`` and appends the
byte with the highest logit (the lowest id on ties), so the same model and prompt always give
the same text. Only onnxruntime and numpy are needed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
from lm_model import DEFAULT_OUT, decode, encode


def load_session(model: Path) -> ort.InferenceSession:
    """An onnxruntime CPU session on ``model``."""
    return ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])


def generate_ids(
    session: ort.InferenceSession, prompt: list[int], tokens: int, context: int
) -> list[int]:
    """``tokens`` greedy continuations of ``prompt`` (byte ids); returns only the new ids."""
    ids = list(prompt) or [ord("\n")]
    new: list[int] = []
    for _ in range(tokens):
        window = np.asarray([ids[-context:]], np.int64)
        logits = session.run(["logits"], {"input_ids": window})[0]
        nxt = int(np.argmax(logits[0, -1]))
        ids.append(nxt)
        new.append(nxt)
    return new


def generate(model: Path, prompt: str, tokens: int) -> str:
    """The prompt's greedy continuation as text; the context length comes from the model card
    next to ``model``."""
    card = json.loads(model.with_name("model.card.json").read_text())
    new = generate_ids(load_session(model), encode(prompt), tokens, int(card["context_length"]))
    return decode(new)


def main() -> None:
    """Command-line entry: prints the prompt followed by its continuation."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prompt", nargs="?", default="AIVM is ")
    parser.add_argument("--tokens", type=int, default=200, help="bytes to generate")
    parser.add_argument("--model", type=Path, default=DEFAULT_OUT / "model.onnx")
    args = parser.parse_args()
    print(args.prompt + generate(args.model, args.prompt, args.tokens))


if __name__ == "__main__":
    main()
