"""Gas calibration: nanoseconds per gas unit of every metered operation, in one run.

A block's gas limit bounds its time only if every gas unit costs about the same time. This
script measures, on this machine and in one process, the wall time of each metered operation
and the gas the chain charges for it, and prints ns per gas and its ratio to the median of all
operations. The goal (ADR 0010) is every ratio within 0.25×–4×; the worst is printed last.

Operations measured:

- **store** (the Cosmos SDK's ``KVGasConfig`` prices, kept as Cosmos users know them): reads by
  value size through ``GasKVStore`` over ``CacheStore`` over the real ``CommitStore`` on disk
  (keys not read before, so LMDB is hit), absent keys, ``has``, writes and deletes including
  their share of ``Commit`` (tree hashing and the LMDB transaction), iterator steps. Rows marked
  ``per-byte`` are dominated by the SDK's per-byte prices, which pay for state growth and
  bandwidth rather than CPU: they sit below the band by design and are reported apart.
- **ante**: one secp256k1 signature check through ``ante.check_signatures`` with an empty
  signature cache (full verification, SignDoc encoding included).
- **dsm**: one input row through single-operator models of every kind at small and large
  sizes (gas = the model's run gas), tree ensembles shaped to stress walk steps and compared
  nodes, two reference models, and decimal input quantization.
- **load**: ``AiKeeper.program`` with an empty program cache — the artifact read through the
  metered store, parse, checks and compile — against the gas every inference pays for it
  (store read + load gas), for adversarial artifact shapes up to 1 MiB.
- **verify**: a DCAP quote check (TDX and SGX samples) against ``tee.verify_gas``, a
  collateral upload's parse, and a TOPLOC evidence blob's parse, against what the verify
  module charges; and optimistic verification's trace openings, bisection moves, dispute input
  hashes and DSM final steps (one operator run on chain).
- **register**: what ``MsgRegisterModel`` computes for an on-chain artifact (sha256, CID,
  parse, checks, compile) against the load gas it charges, for the same shapes; and 1 MiB
  artifacts it refuses, shaped to make the JSON stage slow, against the tx-size gas the
  artifact's bytes paid plus any load gas charged before the refusal.

Usage: .venv/bin/python benchmarks/gas_calibration.py [--quick]

Prints a table, the median, the worst ratio, and one JSON line
``{"median_ns_per_gas": ..., "worst": {...}, "worst_in_band_scope": {...}, "ops": {...}}``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aivm.ai import runtime
from aivm.ai.runtime.model import (
    Add,
    Argmax,
    Dense,
    InputSpec,
    Lut,
    Model,
    Op,
    Relu,
    Requantize,
    Scorecard,
    Threshold,
    TreeEnsemble,
    int_array,
)
from aivm.app import ante
from aivm.app.application import AivmApp
from aivm.app.tx import decode_tx
from aivm.client.tx import Signer, bank_send, sign_tx
from aivm.crypto import unixfs
from aivm.crypto.cid import cid_of
from aivm.crypto.keys import PrivKey
from aivm.modules.ai.keeper import AiKeeper
from aivm.modules.ai.params import AiParams
from aivm.modules.auth.params import AuthParams
from aivm.modules.auth.types import Account
from aivm.modules.framework import BlockHeader, Context, ExecMode
from aivm.modules.storage import keeper as storage_keeper
from aivm.modules.storage import msgs as storage_msgs
from aivm.store import CacheStore, CommitStore, GasConfig, GasKVStore, GasMeter, PrefixStore
from aivm.types import pb
from aivm.types.coin import Coin
from aivm.types.errors import AivmError

CHAIN_ID = "aivm-calibration-1"
BAND = (0.25, 4.0)
BATCHES = 7
"""Each row is the fastest of this many batches: the one other processes disturbed least."""
PER_BYTE = "per-byte"
"""Rows dominated by the SDK's per-byte store prices (state growth, not CPU)."""


@dataclass(frozen=True)
class Sample:
    """One measured operation."""

    group: str
    name: str
    ns: float
    """Wall time of one operation."""
    gas: int
    """Gas charged for one operation."""
    note: str = ""

    @property
    def ns_per_gas(self) -> float:
        """Nanoseconds per gas unit."""
        return self.ns / self.gas


# -- timing ------------------------------------------------------------------------------


def time_ns(call: Callable[[], Any], budget_s: float) -> float:
    """Time of one ``call``: the fastest of BATCHES batches sized to take ``budget_s`` in all (the
    fastest batch is the one other processes on a shared machine disturbed least)."""
    start = time.perf_counter()
    call()
    once = max(time.perf_counter() - start, 1e-7)
    per_batch = max(1, int(budget_s / BATCHES / once))
    samples = []
    for _ in range(BATCHES):
        start = time.perf_counter()
        for _ in range(per_batch):
            call()
        samples.append((time.perf_counter() - start) / per_batch * 1e9)
    return min(samples)


def spec(width: int, lo: int = -128, hi: int = 127) -> InputSpec:
    """An input of ``width`` integer features in ``[lo, hi]``, no scaling."""
    return InputSpec(width, lo, hi, (1,) * width, (1,) * width, (0,) * width)


# -- store -------------------------------------------------------------------------------


@contextmanager
def commit_store(path: Path) -> Iterator[CommitStore]:
    """An on-disk CommitStore, closed afterwards."""
    store = CommitStore.open(path)
    try:
        yield store
    finally:
        store.close()


def fill(store: CommitStore, prefix: bytes, count: int, size: int) -> list[bytes]:
    """Commit ``count`` keys under ``prefix`` with random ``size``-byte values."""
    keys = [prefix + i.to_bytes(4, "big") for i in range(count)]
    for start in range(0, count, 5000):
        for key in keys[start : start + 5000]:
            store.working.set(key, os.urandom(size))
        store.commit()
    return keys


def store_samples(root: Path, quick: bool) -> list[Sample]:
    """Reads, writes (with Commit), has, delete and iteration through GasKVStore.

    Writes and deletes are committed in batches the size of a busy block's (10,000 small
    writes: 2,000 MsgSends), so Commit's fixed cost (one fsync) is shared as on a live chain.
    """
    scale = 4 if quick else 1
    sizes = [(32, 2000 // scale), (1024, 1000 // scale), (65536, 60 // scale), (1 << 20, 6)]
    writes = {32: 10_000 // scale, 1024: 1000 // scale, 65536: 60 // scale, 1 << 20: 6}
    path = root / "store"
    prepared: dict[int, list[bytes]] = {}
    with commit_store(path) as store:
        fill(store, b"acc/", 20_000 // scale, 80)  # a populated tree, as on a live chain
        for size, count in sizes:
            prepared[size] = fill(store, b"r%d/" % size, BATCHES * count, size)
        has_keys = fill(store, b"has/", BATCHES * 2000 // scale, 32)
        delete_keys = fill(store, b"del/", BATCHES * 5000 // scale, 32)
        iter_keys = fill(store, b"it/", 4000 // scale, 32)
    samples = []
    with commit_store(path) as store:  # reopened: nothing read yet is cached
        for size, count in sizes:
            samples.append(read_sample(store, prepared[size], count, size))
        absent = [b"absent/%d" % i for i in range(BATCHES * 400)]
        samples.append(read_sample(store, absent, 400, 0))
        samples.append(has_sample(store, has_keys))
        samples.append(iterator_sample(store, b"it/", len(iter_keys)))
        for size, _ in sizes:
            samples.append(write_sample(store, size, writes[size]))
        samples.append(delete_sample(store, delete_keys))
    return samples


def per_byte_note(per_byte_gas: int, flat_gas: int) -> str:
    """PER_BYTE when the SDK's per-byte prices make up most of an operation's gas."""
    return PER_BYTE if per_byte_gas > flat_gas else ""


def read_sample(store: CommitStore, keys: list[bytes], count: int, size: int) -> Sample:
    """``get`` of keys never read before, through a per-tx branch and a gas meter."""
    batches = [keys[i * count : (i + 1) * count] for i in range(BATCHES)]
    times, gas = [], 0
    for batch in batches:
        meter = GasMeter(None)
        gas_store = GasKVStore(CacheStore(store.working), meter)
        start = time.perf_counter()
        for key in batch:
            gas_store.get(key)
        times.append((time.perf_counter() - start) / len(batch) * 1e9)
        gas = meter.consumed // len(batch)
    name = f"store read {size} B" if size else "store read absent key"
    config = GasConfig()
    note = per_byte_note(gas - config.read_cost_flat, config.read_cost_flat)
    return Sample("store", name, min(times), gas, note)


def has_sample(store: CommitStore, keys: list[bytes]) -> Sample:
    """``has`` of keys never read before."""
    count = len(keys) // BATCHES
    times, gas = [], 0
    for i in range(BATCHES):
        meter = GasMeter(None)
        gas_store = GasKVStore(CacheStore(store.working), meter)
        start = time.perf_counter()
        for key in keys[i * count : (i + 1) * count]:
            gas_store.has(key)
        times.append((time.perf_counter() - start) / count * 1e9)
        gas = meter.consumed // count
    return Sample("store", "store has", min(times), gas)


def iterator_sample(store: CommitStore, prefix: bytes, items: int) -> Sample:
    """One iterator step over committed 32-byte values."""
    times, gas = [], 0
    for _ in range(BATCHES):
        meter = GasMeter(None)
        gas_store = PrefixStore(GasKVStore(CacheStore(store.working), meter), prefix)
        start = time.perf_counter()
        steps = sum(1 for _ in gas_store.iterate())
        times.append((time.perf_counter() - start) / steps * 1e9)
        gas = meter.consumed // steps
    return Sample("store", "store iterator step (32 B)", min(times), gas)


def write_sample(store: CommitStore, size: int, count: int) -> Sample:
    """``set`` of new keys in a tx branch, written to the block and committed."""
    times, gas = [], 0
    for batch in range(BATCHES):
        meter = GasMeter(None)
        branch = CacheStore(store.working)
        gas_store = GasKVStore(branch, meter)
        values = [os.urandom(size) for _ in range(count)]
        start = time.perf_counter()
        for i, value in enumerate(values):
            gas_store.set(b"w%d/%d/%d" % (size, batch, i), value)
        branch.write()
        store.commit()
        times.append((time.perf_counter() - start) / count * 1e9)
        gas = meter.consumed // count
    config = GasConfig()
    note = per_byte_note(gas - config.write_cost_flat, config.write_cost_flat)
    return Sample("store", f"store write {size} B + commit", min(times), gas, note)


def delete_sample(store: CommitStore, keys: list[bytes]) -> Sample:
    """``delete`` of committed keys, written to the block and committed."""
    count = len(keys) // BATCHES
    times, gas = [], 0
    for i in range(BATCHES):
        meter = GasMeter(None)
        branch = CacheStore(store.working)
        gas_store = GasKVStore(branch, meter)
        start = time.perf_counter()
        for key in keys[i * count : (i + 1) * count]:
            gas_store.delete(key)
        branch.write()
        store.commit()
        times.append((time.perf_counter() - start) / count * 1e9)
        gas = meter.consumed // count
    return Sample("store", "store delete + commit", min(times), gas)


# -- ante --------------------------------------------------------------------------------


def signature_sample(root: Path, budget: float) -> Sample:
    """One secp256k1 check through the ante's verification path, nothing cached."""
    key = PrivKey.from_bytes(hashlib.sha256(b"calibration").digest())
    sender = key.pubkey.address()
    raw = sign_tx(
        [bank_send(sender, sender, [Coin("ucgpt", 1)])],
        [Signer(key, 0, 0)],
        chain_id=CHAIN_ID,
        fee=[Coin("ucgpt", 5000)],
    )
    with commit_store(root / "ante") as store:
        app = AivmApp(store)
        tx = decode_tx(raw, app.router)
    account = Account(address=sender, account_number=0, sequence=0, pub_key=key.pubkey.bytes)
    params = AuthParams()
    header = BlockHeader(1, 0, CHAIN_ID)

    def check() -> None:
        ctx = Context(CacheStore(_EmptyStore()), GasMeter(None), header, ExecMode.FINALIZE)
        ante.check_signatures(ctx, tx, [account], params, ante.SignatureCache())

    gas = params.sig_verify_cost_secp256k1
    return Sample("ante", "secp256k1 signature (ante, uncached)", time_ns(check, budget), gas)


class _EmptyStore:
    """A store with nothing in it (the signature check reads no state)."""

    def get(self, key: bytes) -> bytes | None:
        return None

    def has(self, key: bytes) -> bool:
        return False

    def set(self, key: bytes, value: bytes) -> None:
        raise NotImplementedError

    def delete(self, key: bytes) -> None:
        raise NotImplementedError

    def iterate(
        self, start: bytes | None = None, end: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        return iter(())


# -- tx decoding (paid by the tx-size gas) -------------------------------------------------


def decode_samples(root: Path, budget: float) -> list[Sample]:
    """``decode_tx`` (parse, unknown-field walk, routes, every message's stateless checks)
    against the tx-size gas its bytes pay, for ordinary and adversarial shapes."""
    key = PrivKey.from_bytes(hashlib.sha256(b"calibration").digest())
    sender = key.pubkey.address()
    send = bank_send(sender, bytes(20), [Coin("ucgpt", 5)])
    many_coins = bank_send(sender, bytes(20), [Coin(f"d{i:04d}x", 1) for i in range(1000)])
    multi = pb.bank_tx.MsgMultiSend()
    multi.inputs.add(address=send.from_address).coins.add(denom="ucgpt", amount="1000")
    for _ in range(1000):
        multi.outputs.add(address=send.to_address).coins.add(denom="ucgpt", amount="1")
    shapes = {
        "MsgSend": [send],
        "100 MsgSends": [send] * 100,
        "MsgSend of 1000 denoms": [many_coins],
        "MsgMultiSend to 1000": [multi],
    }
    per_byte = AuthParams().tx_size_cost_per_byte
    samples = []
    with commit_store(root / "decode") as store:
        router = AivmApp(store).router
        for name, msgs in shapes.items():
            raw = sign_tx(msgs, [Signer(key, 0, 0)], chain_id=CHAIN_ID, fee=[Coin("ucgpt", 1)])
            ns = time_ns(lambda raw=raw: decode_tx(raw, router), budget)
            gas = len(raw) * per_byte
            samples.append(Sample("decode", f"decode {name} ({len(raw)} B)", ns, gas))
    return samples


# -- storage evidence --------------------------------------------------------------------


def storage_samples(budget: float) -> list[Sample]:
    """A MsgStoreObject's root-block proof and a MsgAnswerChallenge's chunk proof, against the
    storage module's per-byte hashing and parsing gas."""
    params = storage_keeper.DEFAULT_PARAMS
    header = BlockHeader(1, 0, CHAIN_ID)
    samples = []
    for chunks in (1, 2, 174):
        data = RNG.integers(0, 256, chunks * unixfs.CHUNK_SIZE - 7, dtype=np.uint8).tobytes()
        root = unixfs.file_root([data])
        meter = GasMeter(None)

        def prove(root: unixfs.FileRoot = root, meter: GasMeter = meter) -> None:
            meter.consumed = 0
            ctx = Context(CacheStore(_EmptyStore()), meter, header, ExecMode.FINALIZE)
            storage_msgs.proven_size(ctx, params, root.cid, root.block)

        ns = time_ns(prove, budget)
        kind = "raw leaf" if chunks == 1 else f"dag-pb root of {chunks} chunks"
        samples.append(Sample("storage", f"store proof: {kind}", ns, meter.consumed))
        if chunks > 1:
            dag = unixfs.build_dag(data)
            proof = unixfs.chunk_proof(dag, chunks - 1)
            chunk = list(unixfs.chunks_of(data))[-1]
            encoded = proof.encode()
            gas = -(-(len(chunk) + len(encoded)) * params.gas_per_kib_hashed // 1024)
            gas += params.gas_per_byte_parsed * len(encoded)

            def answer(
                dag: unixfs.Dag = dag,
                index: int = chunks - 1,
                chunk: bytes = chunk,
                encoded: bytes = encoded,
                size: int = len(data),
            ) -> None:
                decoded = unixfs.ChunkProof.decode(encoded)
                unixfs.verify_chunk(dag.root_cid, size, index, chunk, decoded)

            ns = time_ns(answer, budget)
            samples.append(Sample("storage", f"answer proof: {chunks} chunks", ns, gas))
    return samples


def verify_samples(budget: float) -> list[Sample]:
    """What the verify module computes in a provider's or an uploader's tx against the gas it
    charges: a TDX and an SGX DCAP quote checked against their collateral (the public
    dcap-qvl samples of tests/vectors/tee; a rejected quote costs the same), a collateral upload's
    strict parse, and a TOPLOC evidence blob's parse for 1 and 16 chunks."""
    from aivm.ai.verify import tee, toploc
    from aivm.modules.verify import attestation

    data = Path(__file__).resolve().parents[1] / "tests" / "vectors" / "tee"
    samples = []
    for name, statuses in (("tdx", ("UpToDate",)), ("sgx", ("ConfigurationAndSWHardeningNeeded",))):
        quote = (data / f"{name}_quote").read_bytes()
        raw = (data / f"{name}_quote_collateral.json").read_bytes()
        parsed = tee.parse_collateral(raw)
        now = (parsed.not_before + parsed.not_after) // 2
        layout = tee.quote_layout(quote)
        verdict = tee.verify_attestation(
            quote, raw, now, report_data=_report_data(quote, layout),
            allowed_measurements=[_measurement(quote, layout)], accepted_tcb_statuses=statuses,
        )  # fmt: skip

        def check(
            quote: bytes = quote,
            raw: bytes = raw,
            now: int = now,
            verdict: Any = verdict,
            statuses: tuple[str, ...] = statuses,
        ) -> None:
            with suppress(Exception):
                tee.verify_attestation(
                    quote, raw, now, report_data=verdict.report_data,
                    allowed_measurements=[verdict.measurement], accepted_tcb_statuses=statuses,
                )  # fmt: skip

        gas = tee.verify_gas(len(quote), len(raw))
        samples.append(Sample("verify", f"{name} quote check", time_ns(check, budget), gas))
        kib = len(raw) // 1024 + 1
        gas = attestation.COLLATERAL_GAS_PER_KILO_BYTE * kib
        ns = time_ns(lambda raw=raw: tee.parse_collateral(raw), budget)
        samples.append(Sample("verify", f"{name} collateral parse ({kib} KiB)", ns, gas))
    for tokens in (32, 512):
        hidden = RNG.normal(size=(tokens, 256)).astype(np.float32)
        blob = toploc.proofs_to_bytes(toploc.build_proofs(hidden))
        gas = attestation.toploc_gas(len(blob))
        ns = time_ns(lambda blob=blob: toploc.proofs_from_bytes(blob), budget)
        samples.append(Sample("verify", f"toploc evidence parse ({tokens} tokens)", ns, gas))
    return samples


def optimistic_samples(budget: float) -> list[Sample]:
    """What optimistic verification computes against the gas it charges (verify params
    ``trace_hash_gas``/``trace_kilo_byte_gas``, ``aivm.modules.verify.optimistic``): a
    result's trace opening (the inline output hashed, two proofs), a bisection move (one leaf
    proof), a dispute's input hash (strict ``.npy`` parse and tensor hash), a DSM final step
    (the tensors hashed and proved, one operator run, the prefix extended — load gas is
    calibrated under **load**), and a float step's openings."""
    import io

    from aivm.ai.verify import trace
    from aivm.modules.verify import optimistic
    from aivm.modules.verify.params import default_params

    params = default_params()
    tg = trace.TraceGas(params.trace_hash_gas, params.trace_kilo_byte_gas)
    samples = []
    for rows, cols, n in ((4, 4, 6), (512, 64, 4096)):
        out = ints(-(2**40), 2**40, (rows, cols))
        data = out.astype("<i8").tobytes()
        hashes = [*(RNG.bytes(32) for _ in range(n)), trace.tensor_hash(out)]
        commitment = trace.commit_trace(hashes)
        opening = trace.open_output(commitment)

        def check(
            data: bytes = data, rows: int = rows, c: Any = commitment, o: Any = opening
        ) -> None:
            output = optimistic.output_matrix(data, rows)
            trace.verify_output(c.root, c.n_steps, trace.tensor_hash(output), o)

        gas = 2 * trace.step_proof_gas(n, tg) + tg.cost(1, len(data) + 64)
        label = f"trace opening ({len(data) // 1024} KiB output, {n} steps)"
        samples.append(Sample("verify", label, time_ns(check, budget), gas))
        leaf, proof = commitment.leaves[n // 2], trace.prove_step(commitment, n // 2)

        def move(c: Any = commitment, leaf: bytes = leaf, proof: Any = proof, n: int = n) -> None:
            trace.verify_step(c.root, c.n_steps, n // 2, leaf, proof)

        samples.append(
            Sample("verify", f"bisection move ({n} steps)", time_ns(move, budget),
                   trace.step_proof_gas(n, tg) + 2_000)
        )  # fmt: skip
    for rows, cols in ((8, 8), (1024, 64)):
        buffer = io.BytesIO()
        np.save(buffer, ints(-100, 100, (rows, cols)), allow_pickle=False)
        raw = buffer.getvalue()
        ns = time_ns(lambda raw=raw: optimistic.input_hash(raw, optimistic.DSM), budget)
        gas = tg.cost(1, len(raw) + 64)
        samples.append(Sample("verify", f"dispute input hash ({len(raw) // 1024} KiB)", ns, gas))
    samples += _final_step_samples(budget, tg)
    return samples


def _final_step_samples(budget: float, tg: Any) -> list[Sample]:
    """``bisection.final_step`` on a wide dense operator at 1 and 256 rows."""
    from aivm.ai import runtime
    from aivm.ai.verify import bisection, trace
    from aivm.modules.ai.params import AiParams

    table = AiParams().gas
    samples = []
    model = Model(spec(64), (dense(64, 256), Relu((1,))))
    program = runtime.compile_model(model)
    for rows in (1, 256):
        x = ints(-128, 127, (rows, 64))
        honest = trace.dsm_trace(program, x)
        c = trace.commit_trace([trace.tensor_hash(t) for t in honest])
        wrong = [*honest[:2], honest[2] + 1]
        w = trace.commit_trace([trace.tensor_hash(t) for t in wrong])
        game = bisection.Game(
            n=2, provider_root=w.root, challenger_root=c.root, lo=1, hi=2,
            lo_leaf=c.leaves[1], provider_hi_leaf=w.leaves[2], challenger_hi_leaf=c.leaves[2],
            turn=bisection.Party.PROVIDER, deadline=10, round_blocks=5,
            status=bisection.Status.FINAL,
        )  # fmt: skip
        inputs = [bisection.TensorOpening(1, honest[1], trace.prove_tensor(c, 1, 1))]
        peaks = trace.prove_prefix(c, 1)

        def step(game: Any = game, inputs: Any = inputs, peaks: Any = peaks) -> None:
            bisection.final_step(game, bisection.Party.CHALLENGER, program, inputs, peaks, 1)

        size = honest[1].nbytes
        gas = 5_000 + tg.cost(1, size + 64) + trace.final_step_gas(program, 1, rows, table, tg)
        samples.append(Sample("verify", f"DSM final step (dense 64→256, {rows} rows)",
                              time_ns(step, budget), gas))  # fmt: skip
    return samples


def _report_data(quote: bytes, layout: Any) -> bytes:
    import dcap_qvl

    return bytes(dcap_qvl.parse_quote(quote).report.report_data)


def _measurement(quote: bytes, layout: Any) -> bytes:
    import dcap_qvl

    report = dcap_qvl.parse_quote(quote).report
    return bytes(report.mr_td) if layout.tee_type == "tdx" else bytes(report.mr_enclave)


# -- DSM models --------------------------------------------------------------------------


RNG = np.random.default_rng(2026)


def ints(low: int, high: int, shape: int | tuple[int, ...]) -> np.ndarray:
    """Random int64 values in ``[low, high)``."""
    return RNG.integers(low, high, shape).astype(np.int64)


def dense(inputs: int, outputs: int, weight: int = 127, source: int = 0) -> Dense:
    """A dense layer with random weights in ``[-weight, weight]``."""
    return Dense((source,), ints(-weight, weight + 1, (outputs, inputs)), ints(-999, 999, outputs))


def one_op(width: int, op: Op, lo: int = -128, hi: int = 127) -> Model:
    """A model of a single operator reading the input."""
    return Model(spec(width, lo, hi), (op,))


def forest(trees: int, depth: int, width: int = 16, chain: bool = False) -> TreeEnsemble:
    """``trees`` trees of exactly ``depth``: complete, or chains (one inner node per level)."""
    feature: list[int] = []
    threshold: list[int] = []
    left: list[int] = []
    right: list[int] = []
    values: list[int] = []

    def grow(level: int) -> int:
        node = len(feature)
        feature.append(int(RNG.integers(0, width)))
        threshold.append(int(RNG.integers(-100, 100)))
        left.append(node)
        right.append(node)
        values.append(0)
        if level < depth:
            left[node] = grow(level + 1) if not chain else leaf()
            right[node] = grow(level + 1)
        else:
            values[node] = int(RNG.integers(-1000, 1000))
        return node

    def leaf() -> int:
        node = len(feature)
        feature.append(0)
        threshold.append(0)
        left.append(node)
        right.append(node)
        values.append(int(RNG.integers(-1000, 1000)))
        return node

    roots = [grow(0) for _ in range(trees)]
    return TreeEnsemble(
        (0,),
        int_array(roots),
        int_array(feature),
        int_array(threshold),
        int_array(left),
        int_array(right),
        int_array(values).reshape(-1, 1),
        int_array([7]),
        depth,
    )


def scorecard(features: int, edges: int) -> Scorecard:
    """Every feature with ``edges`` increasing edges."""
    return Scorecard(
        (0,),
        tuple(int_array(np.arange(edges) * 3 - edges) for _ in range(features)),
        tuple(ints(-50, 50, edges + 1) for _ in range(features)),
        10,
    )


def mlp() -> Model:
    """An int8 MLP 784-56-10 with requantization (the README's reference model)."""
    ops: tuple[Op, ...] = (
        dense(784, 56),
        Requantize((1,), ints(1 << 20, 1 << 22, 56), int_array([30]), 0, -128, 127),
        Relu((2,)),
        dense(56, 10, source=3),
        Argmax((4,)),
    )
    return Model(spec(784, 0, 127), ops)


def run_models() -> list[tuple[str, Model]]:
    """Single-operator models of every kind, small and large, and two reference models."""
    wide = 4096
    table = ints(-1000, 1000, 256)
    return [
        ("dense 4x4", one_op(4, dense(4, 4))),
        ("dense 784x56 int8", one_op(784, dense(784, 56))),
        ("dense 784x56 int64 path", one_op(784, dense(784, 56, 2**40), -(2**12), 2**12)),
        ("dense 512x1400 (1 MiB artifact)", one_op(512, dense(512, 1400))),
        ("dense 4096x1", one_op(4096, dense(4096, 1))),
        ("dense 1x4096", one_op(1, dense(1, 4096))),
        ("requantize 4", one_op(4, Requantize((0,), int_array([3]), int_array([2]), 0, -9, 9))),
        (
            "requantize 4096 per column",
            one_op(wide, Requantize((0,), ints(1, 99, wide), ints(0, 8, wide), 1, -128, 127)),
        ),
        ("add 4", one_op(4, Add((0, 0)))),
        ("add 4096", one_op(wide, Add((0, 0)))),
        ("relu 4", one_op(4, Relu((0,)))),
        ("relu 4096", one_op(wide, Relu((0,)))),
        ("lut 4", one_op(4, Lut((0,), table, -128))),
        ("lut 4096", one_op(wide, Lut((0,), table, -128))),
        ("argmax 4", one_op(4, Argmax((0,)))),
        ("argmax 4096", one_op(wide, Argmax((0,)))),
        ("threshold 4", one_op(4, Threshold((0,), 3))),
        ("threshold 4096", one_op(wide, Threshold((0,), 3))),
        ("scorecard 4 features x 3 edges", one_op(4, scorecard(4, 3))),
        ("scorecard 4096 features x 1 edge", one_op(wide, scorecard(wide, 1))),
        ("scorecard 64 features x 1000 edges", one_op(64, scorecard(64, 1000))),
        ("trees 100 x depth 6 (GBDT)", one_op(16, forest(100, 6))),
        ("trees 1 chain x depth 32", one_op(16, forest(1, 32, chain=True))),
        ("trees 300 chains x depth 32", one_op(16, forest(300, 32, chain=True))),
        ("trees 1 x depth 12 complete", one_op(16, forest(1, 12))),
        ("trees 4000 stumps x depth 1", one_op(16, forest(4000, 1))),
        ("trees 1 x depth 0 (a leaf)", one_op(16, forest(1, 0))),
        ("model MLP 784-56-10", mlp()),
    ]


def dsm_samples(budget: float) -> list[Sample]:
    """One row through each model, against its run gas."""
    table = runtime.GasTable()
    samples = []
    for name, model in run_models():
        program = runtime.load(runtime.serialize(model), runtime.Limits(), table)
        low, high = model.input.lo, model.input.hi
        rows = runtime.check_rows(program, ints(low, high + 1, (1, model.input.width)))
        group = "tree" if name.startswith("trees") else "dsm"
        ns = time_ns(lambda p=program, r=rows: p.run(r), budget)
        samples.append(Sample(group, name, ns, program.gas_per_row(table)))
    samples.append(decimal_input_sample(budget))
    return samples


def decimal_input_sample(budget: float) -> Sample:
    """Quantizing a 4096-feature decimal input row, against its input gas."""
    width = 4096
    quant = InputSpec(width, -(10**9), 10**9, (100,) * width, (1,) * width, (0,) * width)
    program = runtime.load(runtime.serialize(Model(quant, (Relu((0,)),))))
    values = [f"{v}.{v % 100:02d}" for v in range(-2048, 2048)]
    gas = runtime.GasTable().decimal_input(width)
    ns = time_ns(lambda: runtime.quantize_row(program, values), budget)
    return Sample("dsm", "decimal input 4096 features (quantize)", ns, gas)


# -- artifacts: load on inference, registration ---------------------------------------------


def artifact_shapes() -> list[tuple[str, Model]]:
    """Artifacts up to 1 MiB shaped to stress each part of parsing, checking, compiling."""
    tall = 50_000
    small_ops: list[Op] = []
    for i in range(64):
        small_ops.append(Relu((i,)) if i % 2 else Lut((i,), int_array([1, 2, 3]), 0))
    named = InputSpec(
        4096, -128, 127, (1,) * 4096, (1,) * 4096, (0,) * 4096, tuple(f"f{i}" for i in range(4096))
    )
    return [
        ("scorer (dense 3 + threshold)", Model(spec(3), (dense(3, 1), Threshold((1,), 5)))),
        ("MLP 784-56-10", mlp()),
        ("dense 512x1400 (1 MiB)", one_op(512, dense(512, 1400))),
        ("dense 1x50000 (tall)", one_op(1, dense(1, tall))),
        (
            "dense 1x50000 + requantize per column",
            Model(
                spec(1),
                (
                    dense(1, tall),
                    Requantize((1,), ints(1, 99, tall), ints(0, 8, tall), 0, -128, 127),
                ),
            ),
        ),
        ("scorecard 4096 features", one_op(4096, scorecard(4096, 1))),
        ("trees 100 x depth 6 (GBDT)", one_op(16, forest(100, 6))),
        ("trees 250 x depth 7 (~1 MiB)", one_op(16, forest(250, 7))),
        ("trees 900 chains x depth 32", one_op(16, forest(900, 32, chain=True))),
        ("64 small operators", Model(spec(4), tuple(small_ops))),
        ("input 4096 named features", Model(named, (Relu((0,)),))),
    ]


def load_samples(root: Path, budget: float) -> list[Sample]:
    """``AiKeeper.program`` with an empty cache, from the real store, against its gas."""
    params = AiParams()
    artifacts = {}
    path = root / "artifacts"
    with commit_store(path) as store:
        keeper = AiKeeper()
        ctx = Context(store.working, GasMeter(None), BlockHeader(1, 0, CHAIN_ID), ExecMode.GENESIS)
        for name, model in artifact_shapes():
            artifact = runtime.serialize(model)
            assert len(artifact) <= params.max_model_bytes, (name, len(artifact))
            artifacts[name] = (artifact, keeper.set_artifact(ctx, artifact))
        store.commit()
    samples = []
    with commit_store(path) as store:
        header = BlockHeader(2, 0, CHAIN_ID)
        for name, (artifact, digest) in artifacts.items():
            gas = 0

            def cold_load(digest: bytes = digest) -> None:
                nonlocal gas
                meter = GasMeter(None)
                ctx = Context(
                    GasKVStore(CacheStore(store.working), meter), meter, header, ExecMode.FINALIZE
                )
                AiKeeper().program(ctx, digest, params)
                gas = meter.consumed

            ns = time_ns(cold_load, budget)
            samples.append(Sample("load", f"load {name}", ns, gas))
            samples.append(register_sample(name, artifact, params, budget))
    return samples + junk_samples(params, budget)


def register_sample(name: str, artifact: bytes, params: AiParams, budget: float) -> Sample:
    """The registration handler's work on an artifact, against the load gas it charges."""
    gas = 0

    def register() -> None:
        nonlocal gas
        meter = GasMeter(None)
        hashlib.sha256(artifact).digest()
        cid_of(artifact)
        runtime.load(
            artifact,
            params.limits,
            params.gas,
            charge=lambda work: meter.consume(params.gas.load(work), "dsm load"),
        )
        gas = meter.consumed

    return Sample("register", f"register {name}", time_ns(register, budget), gas)


def junk_artifacts() -> list[tuple[str, bytes]]:
    """1 MiB artifacts the chain refuses, shaped to make its JSON stage slow."""
    head = (
        b'{"format":"aivm-dsm/1","input":{"hi":1,"lo":0,"names":[],"scale_den":[1],'
        b'"scale_num":[1],"width":1,"zero_point":[0]},"name":"","ops":['
    )
    tail = b'],"output":{"labels":[],"scale_den":1,"scale_num":1,"zero_point":0}}'
    size = (1 << 20) - len(head) - len(tail) - 16  # within max_model_bytes

    def names(item: bytes) -> bytes:
        listed = b",".join([item] * (size // (len(item) + 1)))
        return head.replace(b'"names":[]', b'"names":[' + listed + b"]") + tail

    relu = b'{"inputs":[0],"op":"relu","zero_point":0}'
    artifacts = [
        ("nested empty lists", names(b"[]")),
        ("empty strings", names(b'""')),
        ("small integers", names(b"7")),
        ("empty objects", names(b"{}")),
        ("operators past max_ops", head + b",".join([relu] * (size // 42)) + tail),
        ("20-digit integers in strings", names(b'"' + b"1" * 20 + b'"')),
    ]
    assert all(len(a) <= AiParams().max_model_bytes for _, a in artifacts)
    return artifacts


class _Refused(Exception):
    """Stops a load at its charge, as an exhausted gas meter would."""


REFUSED = "refused"
"""Rows of refused artifacts: over-charging them is harmless, only a ratio above 4× counts."""


def junk_samples(params: AiParams, budget: float) -> list[Sample]:
    """Refused artifacts, stopped at the second load charge (as a tx with gas for the first
    stage only would be): the work to there (hashes, the JSON read, the census) against the
    tx-size gas the artifact's bytes paid in the ante plus the first stage's load gas. The
    decoding after the second charge is paid by it (the rows above)."""
    per_byte = AuthParams().tx_size_cost_per_byte
    samples = []
    for name, artifact in junk_artifacts():
        gas = 0

        def register(artifact: bytes = artifact) -> None:
            nonlocal gas
            charged: list[int] = []

            def charge(work: runtime.LoadWork) -> None:
                if charged:
                    raise _Refused
                charged.append(params.gas.load(work))

            hashlib.sha256(artifact).digest()
            cid_of(artifact)
            with suppress(AivmError, _Refused):
                runtime.load(artifact, params.limits, params.gas, charge=charge)
            gas = per_byte * len(artifact) + sum(charged)

        ns = time_ns(register, budget)
        samples.append(Sample("register", f"refuse 1 MiB of {name}", ns, gas, REFUSED))
    return samples


# -- report ------------------------------------------------------------------------------


def out_of_band(sample: Sample, median: float) -> bool:
    """True when ``sample`` misses the goal: refused artifacts only when under-charged."""
    ratio = sample.ns_per_gas / median
    if sample.note == REFUSED:
        return ratio > BAND[1]
    return not BAND[0] <= ratio <= BAND[1]


def report(samples: list[Sample]) -> dict[str, Any]:
    """Print the table and return the JSON summary."""
    median = statistics.median(s.ns_per_gas for s in samples)
    scoped = [s for s in samples if s.note != PER_BYTE]
    print(f"{'operation':<48} {'ns/op':>12} {'gas/op':>11} {'ns/gas':>8} {'ratio':>7}")
    for sample in samples:
        ratio = sample.ns_per_gas / median
        flag = "  OUT" if out_of_band(sample, median) else ""
        note = f"  ({sample.note})" if sample.note else ""
        print(
            f"{sample.name:<48} {sample.ns:>12,.0f} {sample.gas:>11,} "
            f"{sample.ns_per_gas:>8.2f} {ratio:>7.2f}{flag}{note}"
        )

    def distance(sample: Sample) -> float:
        ratio = sample.ns_per_gas / median
        if sample.note == REFUSED:
            return max(float(np.log(ratio)), 0.0)
        return abs(float(np.log(ratio)))

    worst_all = max(samples, key=lambda s: abs(np.log(s.ns_per_gas / median)))
    worst_scoped = max(scoped, key=distance)
    outside = [s.name for s in scoped if out_of_band(s, median)]
    print(f"\nmedian: {median:.3f} ns per gas unit over {len(samples)} operations")
    print(f"worst of all rows: {worst_all.name}: {worst_all.ns_per_gas / median:.2f}x the median")
    print(
        f"worst outside the per-byte store rows: {worst_scoped.name}: "
        f"{worst_scoped.ns_per_gas / median:.2f}x; outside {BAND[0]}x-{BAND[1]}x: "
        f"{outside or 'none'}"
    )
    return {
        "median_ns_per_gas": round(median, 4),
        "worst": {"op": worst_all.name, "ratio": round(worst_all.ns_per_gas / median, 3)},
        "worst_in_band_scope": {
            "op": worst_scoped.name,
            "ratio": round(worst_scoped.ns_per_gas / median, 3),
        },
        "outside_band": outside,
        "ops": {
            s.name: {
                "group": s.group,
                "ns": round(s.ns, 1),
                "gas": s.gas,
                "ratio": round(s.ns_per_gas / median, 3),
                **({"note": s.note} if s.note else {}),
            }
            for s in samples
        },
    }


def main() -> None:
    """Measure everything and print the table and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller samples (a rough table)")
    args = parser.parse_args()
    budget = 0.1 if args.quick else 0.5
    with tempfile.TemporaryDirectory(prefix="aivm-gas-") as tmp:
        root = Path(tmp)
        samples = store_samples(root, args.quick)
        samples.append(signature_sample(root, budget))
        samples += decode_samples(root, budget)
        samples += storage_samples(budget)
        samples += verify_samples(budget)
        samples += optimistic_samples(budget)
        samples += dsm_samples(budget)
        samples += load_samples(root, budget)
    summary = report(samples)
    print(json.dumps(summary, separators=(",", ":")))


if __name__ == "__main__":
    main()
