// Unmodified cosmjs signing with SIGN_MODE_LEGACY_AMINO_JSON (an amino-only signer).
//
//   node amino.mjs vectors < cases.json
//       For each case {typeUrls, valuesHex, chainId, accountNumber, sequence, fee, memo,
//       timeoutHeight}: decodes the protobuf messages with cosmjs' registry, converts them with
//       its default AminoTypes and prints the serialized StdSignDoc (makeSignDoc +
//       serializeSignDoc) as hex, one JSON array on stdout.
//
//   node amino.mjs e2e RPC_URL PRIVKEY_HEX RECIPIENT
//       With Secp256k1Wallet.fromKey (amino only, so SigningStargateClient signs
//       LEGACY_AMINO_JSON): sends tokens to RECIPIENT, delegates to the first bonded validator,
//       waits two blocks, withdraws the rewards; then signs a send for a wrong chain id and
//       broadcasts it (it must be refused). Prints one JSON summary line on stdout.
//
// Any failed expectation throws (exit code 1, message on stderr).
// Used by tests/integration/test_cosmjs_amino.py.

import { readFileSync } from "node:fs";
import { makeSignDoc, serializeSignDoc, Secp256k1Wallet } from "@cosmjs/amino";
import { fromHex, toHex } from "@cosmjs/encoding";
import { Registry } from "@cosmjs/proto-signing";
import {
  AminoTypes,
  coin,
  createDefaultAminoConverters,
  defaultRegistryTypes,
  GasPrice,
  QueryClient,
  setupStakingExtension,
  SigningStargateClient,
} from "@cosmjs/stargate";
import { connectComet } from "@cosmjs/tendermint-rpc";
import { TxRaw } from "cosmjs-types/cosmos/tx/v1beta1/tx";

const DENOM = "ucgpt";

function json(value) {
  return JSON.stringify(value, (_, v) => (typeof v === "bigint" ? v.toString() : v));
}

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

function vectors() {
  const cases = JSON.parse(readFileSync(0, "utf8"));
  const registry = new Registry(defaultRegistryTypes);
  const aminoTypes = new AminoTypes(createDefaultAminoConverters());
  const out = cases.map((c) => {
    const msgs = c.typeUrls.map((typeUrl, i) => {
      const value = registry.decode({ typeUrl, value: fromHex(c.valuesHex[i]) });
      return aminoTypes.toAmino({ typeUrl, value });
    });
    const timeout = c.timeoutHeight ? BigInt(c.timeoutHeight) : undefined;
    const doc = makeSignDoc(msgs, c.fee, c.chainId, c.memo, c.accountNumber, c.sequence, timeout);
    return toHex(serializeSignDoc(doc));
  });
  console.log(JSON.stringify(out));
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitHeight(client, height) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const now = await client.getHeight();
    if (now >= height) return now;
    check(Date.now() < deadline, `height ${height} not reached in 60 s (at ${now})`);
    await sleep(100);
  }
}

function summary(result) {
  return {
    hash: result.transactionHash,
    height: result.height,
    code: result.code,
    gasUsed: result.gasUsed.toString(),
    rawLog: result.rawLog ?? "",
  };
}

async function e2e(rpcUrl, keyHex, recipient) {
  const wallet = await Secp256k1Wallet.fromKey(fromHex(keyHex), "aivm");
  check(!("signDirect" in wallet), "Secp256k1Wallet is amino-only");
  const [{ address }] = await wallet.getAccounts();
  const client = await SigningStargateClient.connectWithSigner(rpcUrl, wallet, {
    gasPrice: GasPrice.fromString(`0.025${DENOM}`),
    broadcastPollIntervalMs: 200,
    broadcastTimeoutMs: 30_000,
  });
  const queries = QueryClient.withExtensions(await connectComet(rpcUrl), setupStakingExtension);
  const chainId = await client.getChainId();

  const send = await client.sendTokens(address, recipient, [coin("1234", DENOM)], "auto", "amino <send> & co");
  check(send.code === 0, `send code ${send.code}: ${send.rawLog}`);

  const bonded = await queries.staking.validators("BOND_STATUS_BONDED");
  const validator = bonded.validators[0].operatorAddress;
  const delegate = await client.delegateTokens(address, validator, coin("2000000", DENOM), "auto", "amino delegate");
  check(delegate.code === 0, `delegate code ${delegate.code}: ${delegate.rawLog}`);
  await waitHeight(client, delegate.height + 2);
  const withdraw = await client.withdrawRewards(address, validator, "auto", "amino withdraw");
  check(withdraw.code === 0, `withdraw code ${withdraw.code}: ${withdraw.rawLog}`);

  // a signature for another chain id: the node must refuse it and change nothing
  const account = await client.getAccount(address);
  const balanceBefore = (await client.getBalance(address, DENOM)).amount;
  const signed = await client.sign(
    address,
    [{ typeUrl: "/cosmos.bank.v1beta1.MsgSend", value: { fromAddress: address, toAddress: recipient, amount: [coin("1", DENOM)] } }],
    { amount: [coin("5000", DENOM)], gas: "200000" },
    "wrong chain",
    { accountNumber: account.accountNumber, sequence: account.sequence, chainId: `${chainId}-other` },
  );
  let tampered = { code: 0, log: "" };
  try {
    await client.broadcastTx(TxRaw.encode(signed).finish());
  } catch (error) {
    tampered = { code: error.code ?? -1, log: String(error.log ?? error.message) };
  }
  const accountAfter = await client.getAccount(address);
  const balanceAfter = (await client.getBalance(address, DENOM)).amount;

  console.log(
    json({
      address,
      validator,
      chainId,
      send: summary(send),
      delegate: summary(delegate),
      withdraw: summary(withdraw),
      tampered: {
        ...tampered,
        sequenceBefore: account.sequence,
        sequenceAfter: accountAfter.sequence,
        balanceBefore,
        balanceAfter,
        txHex: toHex(TxRaw.encode(signed).finish()),
      },
    }),
  );
}

const [mode, ...args] = process.argv.slice(2);
if (mode === "vectors") {
  vectors();
} else if (mode === "e2e" && args.length === 3) {
  await e2e(...args);
} else {
  console.error("usage: node amino.mjs vectors < cases.json | node amino.mjs e2e RPC_URL PRIVKEY_HEX RECIPIENT");
  process.exit(2);
}
