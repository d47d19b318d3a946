"""A test chain: an AivmApp on a temporary on-disk store, driven only through ABCI calls.

By default every block also runs on shadow replicas (:mod:`aivm.sim.differential`): a cold
app started from the same genesis and, after heights 2, 4, 8, …, an app restored from a
state-sync snapshot; their FinalizeBlock responses and app hashes must equal the warm app's
(the one the test talks to). ``Chain.start(..., differential=False)`` opts out, and
``AIVM_TEST_DIFFERENTIAL=0`` turns the shadows off for a whole run.

A ``BUG`` line logged by the app (a block hook or a tx step that raised, which a node survives)
fails the test: InitChain, every block and every CheckTx raise ``BugLogged``
(:mod:`aivm.sim.bug_log`) when one was logged since the last check. A test that breaks a hook
on purpose runs that block under ``bug_log().expected()``.
"""

from __future__ import annotations

import hashlib
import os
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aivm.app.application import AivmApp, AppOptions
from aivm.app.genesis import GenesisDoc, GenesisValidator
from aivm.client.tx import Signer, bank_send, sign_tx
from aivm.crypto.keys import PrivKey
from aivm.sim.bug_log import bug_log
from aivm.sim.differential import DifferentialReplay
from aivm.store import CommitStore
from aivm.types import pb
from aivm.types.address import acc_address
from aivm.types.coin import Coin

CHAIN_ID = "aivm-test-1"
DENOM = "ucgpt"
GENESIS_TIME_S = 1_790_000_000
DIFFERENTIAL = os.environ.get("AIVM_TEST_DIFFERENTIAL", "1") != "0"
"""Run shadow replicas by default (``AIVM_TEST_DIFFERENTIAL=0`` turns them off, to time or
bisect a failure)."""


def make_key(index: int) -> PrivKey:
    """Deterministic test key number ``index``."""
    return PrivKey.from_bytes(hashlib.sha256(f"aivm-test-key-{index}".encode()).digest())


NO_INFLATION = {
    "minter": {"inflation": "0", "annual_provisions": "0"},
    "params": {"inflation_rate_change": "0", "inflation_max": "0", "inflation_min": "0"},
}
"""Mint genesis of a chain whose supply stays put (most tests count exact balances and gas)."""


def genesis_doc(
    funded: dict[bytes, int],
    chain_id: str = CHAIN_ID,
    with_accounts: bool = False,
    inflation: bool = False,
) -> GenesisDoc:
    """A genesis funding each address with ``amount`` ucgpt, one validator.

    ``with_accounts`` also lists every funded address as an auth account (numbers 0, 1, ...).
    Without ``inflation`` the mint module mints nothing (its SDK defaults mint every block,
    which moves balances and the digit counts, hence the gas, of every later block).
    """
    balances = [
        {"address": acc_address(addr), "coins": [{"denom": DENOM, "amount": str(amount)}]}
        for addr, amount in sorted(funded.items())
    ]
    validator = GenesisValidator(pub_key=hashlib.sha256(b"validator").digest(), power=10)
    app_state: dict[str, object] = {"bank": {"balances": balances}}
    if not inflation:
        app_state["mint"] = {**NO_INFLATION, "params": dict(NO_INFLATION["params"])}
    if with_accounts:
        app_state["auth"] = {
            "accounts": [
                {
                    "@type": "/cosmos.auth.v1beta1.BaseAccount",
                    "address": acc_address(addr),
                    "account_number": str(number),
                    "sequence": "0",
                }
                for number, addr in enumerate(sorted(funded))
            ]
        }
    return GenesisDoc(
        chain_id=chain_id,
        app_state=app_state,
        genesis_time="2026-09-21T00:00:00Z",
        validators=[validator],
    )


@dataclass
class Chain:
    """Drives an AivmApp block by block as CometBFT would."""

    app: AivmApp
    path: Path
    height: int = 0
    time_s: int = GENESIS_TIME_S
    sequences: dict[bytes, int] = field(default_factory=dict)
    replay: DifferentialReplay | None = None
    """Shadow replicas fed every block, or None when the chain runs a single app."""
    bug_mark: int = field(default_factory=lambda: bug_log().mark())
    """The app's ``BUG`` lines up to this mark of :func:`bug_log` have been checked."""

    @classmethod
    def start(
        cls,
        path: Path,
        funded: dict[bytes, int],
        options: AppOptions | None = None,
        with_accounts: bool = False,
        differential: bool = DIFFERENTIAL,
        genesis: GenesisDoc | None = None,
    ) -> Chain:
        """Open a store under ``path``, run InitChain, and return the chain (height 0).

        ``genesis`` replaces the document built from ``funded``. With ``differential`` (the
        default) the shadow replicas live beside ``path`` and are closed with the chain.
        """
        mark = bug_log().mark()
        app = AivmApp(CommitStore.open(path), options)
        doc = genesis or genesis_doc(funded, with_accounts=with_accounts)
        if not differential:
            app.init_chain(doc.init_chain_request())
            chain = cls(app=app, path=path, bug_mark=mark)
        else:
            replay = DifferentialReplay.start(
                app, doc.init_chain_request(), path.with_name(path.name + "-shadows")
            )
            chain = cls(app=app, path=path, replay=replay, bug_mark=mark)
            weakref.finalize(chain, replay.close_shadows)
        chain.check_bug_log("InitChain")
        return chain

    def check_bug_log(self, where: str) -> None:
        """Raise :class:`~aivm.sim.bug_log.BugLogged` when the app logged a ``BUG`` line since
        the last check (``where`` names what just ran)."""
        mark, self.bug_mark = self.bug_mark, bug_log().mark()
        bug_log().check(mark, where)

    def check(self, raw: bytes) -> pb.abci.ResponseCheckTx:
        """CheckTx (new)."""
        response = self.app.check_tx(pb.abci.RequestCheckTx(tx=raw, type=pb.abci.NEW))
        self.check_bug_log(f"CheckTx after block {self.height}")
        return response

    def block(
        self,
        txs: list[bytes],
        prepare: bool = True,
        *,
        seconds: int = 1,
        absent: frozenset[bytes] = frozenset(),
        misbehavior: Sequence[pb.abci.Misbehavior] = (),
    ) -> pb.abci.ResponseFinalizeBlock:
        """Prepare, process, finalize and commit one block holding ``txs``.

        With ``prepare=False`` the txs go straight to FinalizeBlock, as in a block decided
        by other validators that this node did not propose. The block's time is ``seconds``
        after the previous one. Its ``decided_last_commit`` lists the validator set recorded
        by the app, every one signing except the consensus addresses in ``absent`` (none at
        height 1, as in CometBFT); ``misbehavior`` is passed as the block's evidence.
        """
        previous_set = self.app.validators() if self.height else []
        self.height += 1
        self.time_s += seconds
        if prepare:
            prepared = self.app.prepare_proposal(
                pb.abci.RequestPrepareProposal(txs=txs, max_tx_bytes=22020096, height=self.height)
            )
            txs = list(prepared.txs)
            proposal = pb.abci.RequestProcessProposal(txs=txs, height=self.height)
            status = (
                self.app.process_proposal(proposal)
                if self.replay is None
                else self.replay.process_proposal(proposal)
            )
            assert status.status == pb.abci.ResponseProcessProposal.ACCEPT
        request = pb.abci.RequestFinalizeBlock(
            txs=txs, height=self.height, hash=hashlib.sha256(b"block%d" % self.height).digest()
        )
        request.time.seconds = self.time_s
        for validator in previous_set:
            address = hashlib.sha256(validator.pub_key.ed25519).digest()[:20]
            vote = request.decided_last_commit.votes.add(
                block_id_flag=pb.tm_validator.BLOCK_ID_FLAG_ABSENT
                if address in absent
                else pb.tm_validator.BLOCK_ID_FLAG_COMMIT
            )
            vote.validator.address = address
            vote.validator.power = validator.power
        request.misbehavior.extend(misbehavior)
        if self.replay is None:
            response = self.app.finalize_block(request)
            self.app.commit(pb.abci.RequestCommit())
        else:
            response = self.replay.finalize_block(request)
            self.replay.commit()
        self.check_bug_log(f"block {self.height}")
        return response

    def query(self, path: str, request: pb.Message, response_class: type, height: int = 0):  # type: ignore[no-untyped-def]
        """gRPC-style ABCI query; returns (ResponseQuery, decoded value or None)."""
        response = self.app.query(
            pb.abci.RequestQuery(path=path, data=request.SerializeToString(), height=height)
        )
        value = response_class.FromString(response.value) if response.code == 0 else None
        return response, value

    def balance(self, address: bytes, denom: str = DENOM, height: int = 0) -> int:
        """Balance via the bank Balance query."""
        _, value = self.query(
            "/cosmos.bank.v1beta1.Query/Balance",
            pb.bank_query.QueryBalanceRequest(address=acc_address(address), denom=denom),
            pb.bank_query.QueryBalanceResponse,
            height,
        )
        return int(value.balance.amount)

    def account(self, address: bytes) -> pb.auth.BaseAccount | None:
        """BaseAccount via the auth Account query, or None when cosmjs would see null."""
        _, value = self.query(
            "/cosmos.auth.v1beta1.Query/Account",
            pb.auth_query.QueryAccountRequest(address=acc_address(address)),
            pb.auth_query.QueryAccountResponse,
        )
        if value is None:
            return None
        return pb.auth.BaseAccount.FromString(value.account.value)

    def send_tx(
        self,
        key: PrivKey,
        recipient: bytes,
        amount: int,
        fee: int = 2000,
        gas: int = 200_000,
        sequence: int | None = None,
        account_number: int | None = None,
        chain_id: str = CHAIN_ID,
        memo: str = "",
    ) -> bytes:
        """A signed MsgSend; sequence and account number read from the chain by default."""
        sender = key.pubkey.address()
        account = self.account(sender)
        number = account_number if account_number is not None else account.account_number
        seq = sequence if sequence is not None else account.sequence
        return sign_tx(
            [bank_send(sender, recipient, [Coin(DENOM, amount)])],
            [Signer(key, number, seq)],
            chain_id=chain_id,
            fee=[Coin(DENOM, fee)] if fee else [],
            gas_limit=gas,
            memo=memo,
        )

    def msgs_tx(
        self, key: PrivKey, msgs: list[pb.Message], fee: int = 20_000, gas: int = 20_000_000
    ) -> bytes:
        """A signed tx carrying ``msgs`` from ``key`` (sequence read from the chain)."""
        account = self.account(key.pubkey.address())
        return sign_tx(
            msgs,
            [Signer(key, account.account_number, account.sequence)],
            chain_id=CHAIN_ID,
            fee=[Coin(DENOM, fee)] if fee else [],
            gas_limit=gas,
        )

    def deliver(
        self, key: PrivKey, *msgs: pb.Message, gas: int = 20_000_000
    ) -> pb.abci.ExecTxResult:
        """Sign ``msgs`` as ``key`` and run them through CheckTx and a block.

        Returns the tx's block result, or the CheckTx result (as an ExecTxResult) when CheckTx
        rejected the tx and the block was produced without it.
        """
        raw = self.msgs_tx(key, list(msgs), gas=gas)
        check = self.check(raw)
        if check.code != 0:
            self.block([])
            return pb.abci.ExecTxResult(code=check.code, codespace=check.codespace, log=check.log)
        return self.block([raw]).tx_results[0]
