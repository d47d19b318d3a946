"""Train the gradient-boosted credit-risk model and write it with a held-out set.

    python examples/credit_scoring/train.py --out /tmp/credit     # model.joblib, holdout.csv

scikit-learn ``GradientBoostingClassifier`` (100 trees, depth 3) on 16,000 synthetic applicants
(see ``data.py``); 4,000 more are held out for the agreement check.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import joblib
import numpy as np
from data import FEATURES, make_applicants
from sklearn.ensemble import GradientBoostingClassifier

TRAIN, HOLDOUT = 16_000, 4_000


def train(out: Path, seed: int = 7) -> GradientBoostingClassifier:
    """Fit the model, save ``model.joblib`` and ``holdout.csv`` (features + label) in ``out``."""
    x, y = make_applicants(TRAIN + HOLDOUT, seed)
    model = GradientBoostingClassifier(
        n_estimators=100, max_depth=3, learning_rate=0.1, random_state=seed
    )
    model.fit(x[:TRAIN], y[:TRAIN])
    out.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, out / "model.joblib")
    holdout = np.column_stack([x[TRAIN:], y[TRAIN:]])
    np.savetxt(
        out / "holdout.csv",
        holdout,
        delimiter=",",
        fmt="%.2f",
        header=",".join((*FEATURES, "default")),
        comments="",
    )
    return model


def main() -> None:
    """Command-line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("credit_model"), help="output directory")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    model = train(args.out, args.seed)
    x, y = make_applicants(TRAIN + HOLDOUT, args.seed)
    accuracy = float((model.predict(x[TRAIN:]) == y[TRAIN:]).mean())
    print(f"held-out accuracy of the float model: {accuracy:.3f} ({HOLDOUT} applicants)")


if __name__ == "__main__":
    main()
