"""Classify held-out digits with the exported CNN on onnxruntime.

    python examples/offchain_vision/classify.py --show 5

Prints the first ``--show`` test digits as text art with the predicted class and its
probability, then the accuracy on the whole held-out split (the same split ``train.py`` used).
Only onnxruntime, numpy and scikit-learn (for the data) are needed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from cnn_model import DEFAULT_OUT, digits_split

SHADES = " .:-=+*#%@"


def classify(
    model: Path, pixels: npt.NDArray[np.float32]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Predicted classes and the probability rows for ``pixels`` ``[N, 1, 8, 8]``."""
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    probs = session.run(["probabilities"], {"pixels": pixels.astype(np.float32)})[0]
    return np.argmax(probs, axis=-1).astype(np.int64), probs


def art(image: npt.NDArray[np.float32]) -> str:
    """An 8×8 digit (0–16) as eight lines of text."""
    levels = np.clip((image / 16.0 * (len(SHADES) - 1)).round().astype(int), 0, len(SHADES) - 1)
    return "\n".join("".join(SHADES[v] * 2 for v in row) for row in levels)


def main() -> None:
    """Command-line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_OUT / "model.onnx")
    parser.add_argument("--show", type=int, default=4, help="test digits to draw")
    args = parser.parse_args()
    _, x_test, _, y_test = digits_split()
    pred, probs = classify(args.model, x_test)
    for i in range(min(args.show, len(x_test))):
        print(art(x_test[i, 0]))
        print(f"true {y_test[i]}  predicted {pred[i]}  p={probs[i, pred[i]]:.3f}\n")
    correct = int((pred == y_test).sum())
    print(f"accuracy {correct / len(y_test):.4f} ({correct}/{len(y_test)} held-out digits)")


if __name__ == "__main__":
    main()
