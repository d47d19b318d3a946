"""Credit scoring on-chain, end to end, with the Python SDK against a running devnet.

    python examples/credit_scoring/demo.py --node http://127.0.0.1:26657 \
        --mnemonic-file ~/.aivm/config/dev_accounts.json [--applicants 20]

1. trains the gradient-boosted model (``train.py``; synthetic data, ``data.py``),
2. imports it into the DSM format (inputs with 2 decimals, leaves in 2^-24 fixed point) and
   reports the agreement of DSM decisions with the float model on the 4,000 held-out
   applicants,
3. registers it on chain (``credit-risk``; re-uses the model when it is already registered),
4. scores ``--applicants`` held-out applicants on chain (decimal inputs, quantized by the
   chain) and checks every on-chain decision against the local DSM run and the float model,
5. re-runs one recorded execution locally (``verify_execution``).

It prints one JSON summary line at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from data import FEATURES, make_applicants
from train import HOLDOUT, TRAIN, train

from aivm.ai.importers.sklearn import from_sklearn
from aivm.client import Client, Wallet
from aivm.modules.ai.client import AiClient

NAME = "credit-risk"


def mnemonic_from(path: Path) -> str:
    """The first dev account's mnemonic from ``dev_accounts.json`` (or a plain text file)."""
    text = path.expanduser().read_text()
    try:
        return str(json.loads(text)[0]["mnemonic"])
    except (ValueError, KeyError, IndexError, TypeError):
        return text.strip()


def find_model(ai: AiClient, owner: str) -> int | None:
    """Id of ``credit-risk`` if ``owner`` registered it already."""
    for model in ai.models(owner=owner, limit=1000):
        if model.name == NAME:
            return int(model.id)
    return None


def main() -> None:
    """Run the demo."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--node", default="http://127.0.0.1:26657")
    parser.add_argument(
        "--mnemonic-file", type=Path, default=Path("~/.aivm/config/dev_accounts.json")
    )
    parser.add_argument("--applicants", type=int, default=20, help="applicants scored on chain")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        model = train(Path(tmp))
    x, _ = make_applicants(TRAIN + HOLDOUT)
    holdout = x[TRAIN:]
    imported = from_sklearn(model, decimals=2, feature_names=list(FEATURES))
    float_decisions = model.predict(holdout)
    dsm_decisions = imported.predict(holdout)
    agreement = float((float_decisions == dsm_decisions).mean())
    print(f"DSM vs float model on {len(holdout)} held-out applicants: {agreement:.2%} agree")

    wallet = Wallet.from_mnemonic(mnemonic_from(args.mnemonic_file))
    with Client(args.node) as client:
        ai = AiClient(client)
        model_id = find_model(ai, wallet.address)
        if model_id is None:
            registered = ai.register_model(
                wallet,
                imported.artifact,
                NAME,
                "1.0.0",
                price="100ucgpt",
                tags=["credit", "scoring"],
                license="Apache-2.0",
                input_schema=json.dumps({"features": list(FEATURES), "decimals": 2}),
                output_schema=json.dumps({"default": "1 = predicted to default"}),
            )
            model_id = registered.model_id
            print(f"registered {NAME} as model {model_id} (gas {registered.gas_used})")
        version = ai.version(model_id)
        print(
            f"model {model_id}: {version.artifact_size} bytes, "
            f"{version.gas_per_row} DSM gas per inference, plus {version.load_gas} load gas "
            "(not charged again within a block)"
        )
        executions, mismatches = [], 0
        for row, expected in zip(
            holdout[: args.applicants], float_decisions[: args.applicants], strict=True
        ):
            values = [f"{v:.2f}" for v in row]
            result = ai.infer(wallet, model_id, values)
            local = int(imported.run([values])[0, 0])
            mismatches += int(result.output != [local]) + int(result.output != [int(expected)])
            executions.append(result.execution_id)
        verified = ai.verify_execution(executions[-1])
    print(
        f"scored {len(executions)} applicants on chain; {mismatches} disagreements; "
        f"execution {verified.execution_id} verified locally: {verified.detail}"
    )
    print(
        json.dumps(
            {
                "holdout_agreement": round(agreement, 4),
                "holdout_rows": len(holdout),
                "onchain_scored": len(executions),
                "onchain_disagreements": mismatches,
                "verified_execution": verified.execution_id,
                "verified": verified.ok,
                "model_id": model_id,
                "gas_per_inference": int(version.gas_per_row),
                "load_gas": int(version.load_gas),
                "default_rate_predicted": round(float(np.mean(dsm_decisions)), 4),
            }
        )
    )
    if mismatches or not verified.ok or agreement < 0.99:
        sys.exit(1)


if __name__ == "__main__":
    main()
