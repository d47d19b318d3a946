"""TOPLOC for the marketplace's language-model example (``examples/offchain_lm``): off-chain
glue between an onnxruntime session of that model and :mod:`aivm.ai.verify.toploc`.

The model maps ``input_ids`` int64 ``[batch, seq]`` (``seq ≤ context``) to ``logits`` and
``last_hidden`` ``[batch, seq, d_model]`` (the final LayerNorm's output). Greedy generation
(``generate.py``) feeds the last ``context`` ids at each step, so the hidden state *at
position t* is the last row of the window ``ids[max(0, t-context+1) : t+1]``.

What is fingerprinted: the hidden states at the positions of the generated tokens (each
generated token is the input there, as in the TOPLOC experiments, which generate one token
more than they keep so that the last token is fed back once). A provider gets them for one
extra model step during generation (:func:`generate_with_evidence`), or afterwards from one
prefill (:func:`fingerprint_generation`). A validator recomputes them with one prefill
(positions below ``context``) plus one batched run of windows (positions past it) and
compares (:func:`verify_generation`). With ``greedy=True`` (the example decodes greedily) it
also checks that each generated token is the greedy choice of the logits before it, within
``GREEDY_LOGIT_TOL``: the fingerprint alone tolerates a single changed token in a chunk, by
design (its thresholds absorb hardware noise).

Thresholds: the example's providers compute in float32 with onnxruntime, like the validator,
so :func:`verify_generation` defaults to ``REPLICA_FP32_THRESHOLDS``. The published
``DEFAULT_THRESHOLDS`` (for bf16 GPU inference of large models) are far looser than this small
model's honest noise: with them the fingerprint alone rejected a re-initialised model but
accepted weights perturbed by 1%, bf16 weights or bf16 compute (measured on the tiny config,
30 prompts each); pass them for providers that run in bf16.

An empty prompt stands for ``[ord("\\n")]``, as in ``generate.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from aivm.ai.verify.toploc import (
    DECODE_BATCHING_SIZE,
    REPLICA_FP32_THRESHOLDS,
    TOPK,
    ErrToplocGeneration,
    ErrToplocParams,
    Thresholds,
    ToplocResult,
    build_proofs,
    proofs_from_bytes,
    proofs_to_bytes,
    verify_proofs,
)

DEFAULT_CONTEXT = 128
"""The example's default context length (``LMConfig.context``; the tiny config has 32)."""
GREEDY_LOGIT_TOL = 1e-3
"""A claimed token passes the greedy check when its logit is within this of the maximum."""
WINDOW_BATCH = 64
"""Windows per onnxruntime call when positions run past the context."""

F32 = npt.NDArray[np.float32]


class Session(Protocol):
    """The part of ``onnxruntime.InferenceSession`` used here."""

    def run(self, output_names: list[str] | None, input_feed: dict[str, Any]) -> list[Any]:
        """Run the model."""


@dataclasses.dataclass(frozen=True)
class Positions:
    """Logits and hidden states at a run of consecutive positions."""

    logits: F32
    hidden: F32


def _ids(prompt_ids: Sequence[int], generated_ids: Sequence[int], vocab: int) -> list[int]:
    """The full id sequence, checked: at least one generated id, every id in ``[0, vocab)``."""
    if len(generated_ids) == 0:
        raise ErrToplocGeneration.wrap("no generated tokens")
    ids = [int(i) for i in prompt_ids] or [ord("\n")]
    ids += [int(i) for i in generated_ids]
    if min(ids) < 0 or max(ids) >= vocab:
        raise ErrToplocGeneration.wrap(f"token id outside [0, {vocab})")
    return ids


def _vocab(session: Any) -> int:
    """The logits' last dimension when the session declares it (256 for the example)."""
    try:
        dim = session.get_outputs()[0].shape[-1]
    except (AttributeError, IndexError, TypeError):
        return 256
    return dim if isinstance(dim, int) and dim > 0 else 256


def states_at(session: Session, ids: Sequence[int], first: int, context: int) -> Positions:
    """Logits and hidden states at positions ``first .. len(ids)-1`` of ``ids``: one prefill
    for the positions below ``context``, batched windows of ``context`` ids for the rest."""
    if context < 1 or not 0 <= first < len(ids):
        raise ErrToplocGeneration.wrap(f"positions from {first} of {len(ids)}, context {context}")
    arr = np.asarray(ids, np.int64)
    logits: list[F32] = []
    hidden: list[F32] = []
    head_end = min(len(ids), context)
    if first < head_end:
        lg, hd = session.run(["logits", "last_hidden"], {"input_ids": arr[None, :head_end]})
        logits.append(np.asarray(lg[0, first:], np.float32))
        hidden.append(np.asarray(hd[0, first:], np.float32))
    tail = list(range(max(first, context), len(ids)))
    for start in range(0, len(tail), WINDOW_BATCH):
        batch = tail[start : start + WINDOW_BATCH]
        windows = np.stack([arr[p - context + 1 : p + 1] for p in batch])
        lg, hd = session.run(["logits", "last_hidden"], {"input_ids": windows})
        logits.append(np.asarray(lg[:, -1], np.float32))
        hidden.append(np.asarray(hd[:, -1], np.float32))
    return Positions(np.concatenate(logits), np.concatenate(hidden))


def fingerprint_generation(
    session: Session,
    prompt_ids: Sequence[int],
    generated_ids: Sequence[int],
    *,
    context: int = DEFAULT_CONTEXT,
) -> bytes:
    """Provider side, after the fact: the evidence blob (:func:`toploc.proofs_to_bytes`) of
    the hidden states at the generated tokens' positions, computed by one prefill."""
    ids = _ids(prompt_ids, generated_ids, _vocab(session))
    states = states_at(session, ids, len(ids) - len(generated_ids), context)
    return proofs_to_bytes(build_proofs(states.hidden))


def generate_with_evidence(
    session: Session, prompt_ids: Sequence[int], tokens: int, *, context: int = DEFAULT_CONTEXT
) -> tuple[list[int], bytes]:
    """Provider side, during generation: ``generate.py``'s greedy decoding (lowest id on
    ties) that keeps each step's last hidden row, plus one extra step for the last token;
    returns the new ids and the evidence blob."""
    if tokens < 1:
        raise ErrToplocGeneration.wrap(f"{tokens} tokens")
    ids = [int(i) for i in prompt_ids] or [ord("\n")]
    new: list[int] = []
    rows: list[F32] = []
    for step in range(tokens + 1):
        window = np.asarray([ids[-context:]], np.int64)
        logits, hidden = session.run(["logits", "last_hidden"], {"input_ids": window})
        if step:
            rows.append(np.asarray(hidden[0, -1], np.float32))
        if step == tokens:
            break
        nxt = int(np.argmax(logits[0, -1]))
        ids.append(nxt)
        new.append(nxt)
    return new, proofs_to_bytes(build_proofs(np.stack(rows)))


def _greedy_failure(logits: F32, generated_ids: Sequence[int]) -> str:
    """Why some generated token is not the greedy choice of the logits before it, or ``""``."""
    best = logits.max(axis=1)
    claimed = logits[np.arange(len(generated_ids)), np.asarray(generated_ids, np.int64)]
    bad = np.nonzero(claimed < best - GREEDY_LOGIT_TOL)[0]
    if bad.size == 0:
        return ""
    j = int(bad[0])
    return f"token {j}: {int(generated_ids[j])} is not the greedy choice {int(logits[j].argmax())}"


def verify_generation(
    session: Session,
    prompt_ids: Sequence[int],
    generated_ids: Sequence[int],
    evidence: bytes,
    *,
    context: int = DEFAULT_CONTEXT,
    thresholds: Thresholds = REPLICA_FP32_THRESHOLDS,
    greedy: bool = True,
    decode_batching_size: int = DECODE_BATCHING_SIZE,
    topk: int = TOPK,
) -> ToplocResult:
    """Validator side: recompute the hidden states of prompt + generated (one prefill, plus
    batched windows past ``context``) and compare them with ``evidence``; with ``greedy``
    also require each generated token to be the greedy choice. The evidence must use the
    required ``decode_batching_size`` and ``topk`` (a provider may not pick weaker ones).
    Malformed evidence or ids raise coded errors (codespace ``verify``)."""
    parsed = proofs_from_bytes(evidence)
    if (parsed.decode_batching_size, parsed.topk) != (decode_batching_size, topk):
        raise ErrToplocParams.wrap(
            f"evidence uses decode_batching_size {parsed.decode_batching_size}, topk "
            f"{parsed.topk}; required {decode_batching_size}, {topk}"
        )
    ids = _ids(prompt_ids, generated_ids, _vocab(session))
    start = len(ids) - len(generated_ids)
    states = states_at(session, ids, start - 1, context)
    result = verify_proofs(
        states.hidden[1:],
        parsed.proofs,
        decode_batching_size=parsed.decode_batching_size,
        topk=parsed.topk,
        thresholds=thresholds,
    )
    if result.accepted and greedy:
        why = _greedy_failure(states.logits[:-1], generated_ids)
        if why:
            return dataclasses.replace(result, accepted=False, reason=why)
    return result
