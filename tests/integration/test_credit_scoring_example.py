"""``examples/credit_scoring/demo.py`` runs against the devnet: ≥ 99% agreement with the float
model on the held-out set, on-chain decisions equal to local DSM and float decisions, and a
recorded execution verified locally."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chain_drivers import ChainEndpoint

DEMO = Path(__file__).resolve().parents[2] / "examples" / "credit_scoring" / "demo.py"


@pytest.mark.slow
@pytest.mark.parametrize("chain", ["devnet"], indirect=True)
def test_credit_scoring_demo(chain: ChainEndpoint, tmp_path: Path) -> None:
    mnemonic = tmp_path / "mnemonic.txt"
    mnemonic.write_text(chain.accounts[2].mnemonic)
    result = subprocess.run(
        [
            sys.executable,
            str(DEMO),
            "--node",
            chain.rpc_url,
            "--mnemonic-file",
            str(mnemonic),
            "--applicants",
            "8",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["holdout_agreement"] >= 0.99
    assert summary["onchain_scored"] == 8 and summary["onchain_disagreements"] == 0
    assert summary["verified"] is True
