"""verify module: the verification a compute job's accepted result must pass before payment
(chosen by criticality through a governance-owned policy), AI-validator re-execution with
commit-reveal, sampling, and the attestation trail. See README.md."""

from aivm.modules.verify.module import DEFINITION

__all__ = ["DEFINITION"]
