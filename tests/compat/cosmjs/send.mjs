// Unmodified cosmjs against an AIVM node's CometBFT JSON-RPC.
//
//   node send.mjs RPC_URL MNEMONIC
//
// Queries chain id, height, balances and accounts, sends tokens twice (fee "auto", which runs
// Simulate, and an explicit fee, watched as a websocket Tx event), finds both txs with getTx and
// searchTx, decodes the other CometBFT methods with cosmjs' comet38 client (status, abci_info,
// block, block_results, blockchain, commit, validators, genesis, num_unconfirmed_txs, tx,
// tx_search, websocket NewBlock) and prints one JSON summary line on stdout. Any failed expectation throws (exit code 1, message on stderr).
// Used by tests/integration/test_cosmjs_compat.py.

import { decodeTxRaw, DirectSecp256k1HdWallet } from "@cosmjs/proto-signing";
import { GasPrice, SigningStargateClient, StargateClient } from "@cosmjs/stargate";
import { Comet38Client, connectComet } from "@cosmjs/tendermint-rpc";
import { toHex } from "@cosmjs/encoding";

const [rpcUrl, mnemonic] = process.argv.slice(2);
if (!rpcUrl || !mnemonic) {
  console.error("usage: node send.mjs RPC_URL MNEMONIC");
  process.exit(2);
}

const DENOM = "ucgpt";
// A deterministic address nobody holds a key for: the all-zero 20-byte account.
const UNFUNDED = "aivm1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqz7nguy";

// JSON with bigints as strings
function json(value) {
  return JSON.stringify(value, (_, v) => (typeof v === "bigint" ? v.toString() : v));
}

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

async function main() {
  const wallet = await DirectSecp256k1HdWallet.fromMnemonic(mnemonic, { prefix: "aivm" });
  const [{ address: from }] = await wallet.getAccounts();
  const recipientWallet = await DirectSecp256k1HdWallet.generate(12, { prefix: "aivm" });
  const [{ address: to }] = await recipientWallet.getAccounts();

  const query = await StargateClient.connect(rpcUrl);
  const client = await SigningStargateClient.connectWithSigner(rpcUrl, wallet, {
    gasPrice: GasPrice.fromString(`0.025${DENOM}`),
    broadcastPollIntervalMs: 200,
    broadcastTimeoutMs: 20_000,
  });

  const chainId = await query.getChainId();
  const height = await query.getHeight();
  check(typeof height === "number" && height > 0, `height ${height}`);
  const balanceBefore = await query.getBalance(from, DENOM);
  check(balanceBefore.denom === DENOM, `balance denom ${balanceBefore.denom}`);
  const unfunded = await query.getBalance(UNFUNDED, DENOM);
  check(unfunded.amount === "0" && unfunded.denom === DENOM, `unfunded ${json(unfunded)}`);
  const recipientBefore = await query.getBalance(to, DENOM);
  check(recipientBefore.amount === "0", `recipient before ${recipientBefore.amount}`);
  const unknownAccount = await query.getAccount(UNFUNDED);
  check(unknownAccount === null, `unknown account ${json(unknownAccount)}`);
  const account = await query.getAccount(from);
  check(account !== null && account.address === from, `account ${json(account)}`);
  const sequenceBefore = account.sequence;

  // fee "auto": Simulate, then gas * 1.4 * gasPrice
  const auto = await client.sendTokens(from, to, [{ denom: DENOM, amount: "12345" }], "auto", "cosmjs auto");
  check(auto.code === 0, `auto send code ${auto.code}: ${auto.rawLog}`);
  // explicit fee
  // explicit fee, watched on the websocket as a Tx event
  const ws = await Comet38Client.connect(rpcUrl.replace(/^http/, "ws"));
  const txEvent = firstEvent(ws.subscribeTx(`transfer.recipient='${to}'`));
  const fee = { amount: [{ denom: DENOM, amount: "5000" }], gas: "200000" };
  const explicit = await client.sendTokens(from, to, [{ denom: DENOM, amount: "1000" }], fee, "cosmjs explicit");
  check(explicit.code === 0, `explicit send code ${explicit.code}: ${explicit.rawLog}`);
  check(explicit.height >= auto.height, "heights increase");
  const event = await txEvent;
  check(toHex(event.hash).toUpperCase() === explicit.transactionHash, "websocket Tx event hash");
  check(event.height === explicit.height && event.result.code === 0, "websocket Tx event result");

  const autoTx = await query.getTx(auto.transactionHash);
  check(autoTx !== null && autoTx.code === 0, `getTx ${auto.transactionHash}`);
  check(autoTx.hash === auto.transactionHash, "getTx hash");
  check(autoTx.height === auto.height, "getTx height");
  const explicitTx = await client.getTx(explicit.transactionHash);
  check(explicitTx !== null && explicitTx.gasWanted === 200000n, "explicit getTx gas wanted");
  const missing = await query.getTx("00".repeat(32));
  check(missing === null, "unknown tx is null");

  const byHeight = await query.searchTx([{ key: "tx.height", value: auto.height }]);
  check(byHeight.some((t) => t.hash === auto.transactionHash), "searchTx by tx.height");
  const byRecipient = await query.searchTx(`transfer.recipient='${to}'`);
  const found = byRecipient.map((t) => t.hash).sort();
  check(
    found.length === 2 && found.includes(auto.transactionHash) && found.includes(explicit.transactionHash),
    `searchTx transfer.recipient ${json(found)}`,
  );
  const bySender = await query.searchTx([
    { key: "message.sender", value: from },
    { key: "tx.height", value: explicit.height },
  ]);
  check(bySender.some((t) => t.hash === explicit.transactionHash), "searchTx message.sender AND tx.height");

  const balanceAfter = await query.getBalance(from, DENOM);
  const recipientAfter = await query.getBalance(to, DENOM);
  check(recipientAfter.amount === "13345", `recipient after ${recipientAfter.amount}`);
  const accountAfter = await query.getAccount(from);
  check(accountAfter.sequence === sequenceBefore + 2, `sequence ${accountAfter.sequence}`);

  const summary = {
    chainId,
    height,
    from,
    to,
    unfunded: UNFUNDED,
    unfundedBalance: unfunded.amount,
    unknownAccount,
    accountNumber: account.accountNumber,
    sequenceBefore,
    sequenceAfter: accountAfter.sequence,
    balanceBefore: balanceBefore.amount,
    balanceAfter: balanceAfter.amount,
    recipientBefore: recipientBefore.amount,
    recipientAfter: recipientAfter.amount,
    auto: {
      hash: auto.transactionHash,
      height: auto.height,
      code: auto.code,
      gasWanted: auto.gasWanted.toString(),
      gasUsed: auto.gasUsed.toString(),
      fee: autoTxFee(autoTx),
    },
    explicit: {
      hash: explicit.transactionHash,
      height: explicit.height,
      code: explicit.code,
      gasWanted: explicit.gasWanted.toString(),
      gasUsed: explicit.gasUsed.toString(),
      fee: fee.amount[0].amount,
    },
    searchByRecipient: found,
  };
  summary.comet = await cometChecks(auto, to, ws);
  query.disconnect();
  client.disconnect();
  // Exit explicitly: the websocket client's reconnecting socket would keep the process alive.
  process.stdout.write(json(summary) + "\n", () => process.exit(0));
}

// The remaining CometBFT RPC methods, decoded by cosmjs' own comet38 client (HTTP and websocket).
async function cometChecks(auto, to, ws) {
  const comet = await connectComet(rpcUrl);
  check(comet instanceof Comet38Client, "connectComet picks the comet38 client");
  const status = await comet.status();
  const info = await comet.abciInfo();
  check(info.lastBlockHeight > 0, "abci_info last_block_height");
  await comet.health();
  const block = await comet.block(auto.height);
  check(block.block.txs.length >= 1, "block txs");
  check(block.block.lastCommit !== null, "block last_commit");
  const first = await comet.block(1);
  check(first.block.header.height === 1 && first.block.lastCommit === null, "block 1");
  const results = await comet.blockResults(auto.height);
  check(results.results.length === block.block.txs.length, "block_results txs_results");
  const chain = await comet.blockchain(1, auto.height);
  check(chain.blockMetas.length > 0, "blockchain metas");
  const commit = await comet.commit(auto.height);
  check(commit.canonical && commit.commit.signatures.length === 1, "commit");
  const validators = await comet.validatorsAll(auto.height);
  check(validators.validators.length === 1, "validators");
  const genesis = await comet.genesis();
  check(genesis.chainId === status.nodeInfo.network, "genesis chain id");
  const pending = await comet.numUnconfirmedTxs();
  check(pending.total >= 0, "num_unconfirmed_txs");
  const tx = await comet.tx({ hash: Buffer.from(auto.transactionHash, "hex") });
  check(tx.height === auto.height && tx.result.code === 0, "tx");
  const search = await comet.txSearchAll({ query: `transfer.recipient='${to}'`, order_by: "desc" });
  check(search.totalCount === 2 && search.txs.length === 2, `tx_search total ${search.totalCount}`);
  comet.disconnect();

  const header = await firstEvent(ws.subscribeNewBlock());
  check(header.header.height > auto.height, "websocket NewBlock");
  ws.disconnect();
  return {
    version: status.nodeInfo.version,
    latestHeight: status.syncInfo.latestBlockHeight,
    validatorPower: validators.validators[0].votingPower.toString(),
    newBlockHeight: header.header.height,
  };
}

function firstEvent(stream) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no websocket event within 60 s")), 60_000);
    const listener = {
      next: (event) => {
        clearTimeout(timer);
        stream.removeListener(listener);
        resolve(event);
      },
      error: (error) => {
        clearTimeout(timer);
        reject(error);
      },
      complete: () => {},
    };
    stream.addListener(listener);
  });
}

// The fee actually paid by the "auto" tx, decoded from the tx bytes cosmjs got back from getTx.
function autoTxFee(indexed) {
  const decoded = decodeTxRaw(indexed.tx);
  const coin = decoded.authInfo.fee.amount.find((c) => c.denom === DENOM);
  return coin ? coin.amount : "0";
}

main().catch((error) => {
  console.error(error && error.stack ? error.stack : String(error));
  process.exit(1);
});
