// Unmodified cosmjs staking and distribution against an AIVM node's CometBFT JSON-RPC.
//
//   node staking.mjs RPC_URL MNEMONIC
//
// With the account of MNEMONIC (funded, not a validator operator): queries the bonded validators
// (StakingExtension), delegates to the first one (SigningStargateClient.delegateTokens), queries
// the delegation (staking.delegation, getDelegation), the validator's delegations, the
// delegator's validators, the historical info at the delegation's height, the withdraw address
// and the validator's slashes (none); waits a few blocks, queries the rewards
// (DistributionExtension delegationRewards and delegationTotalRewards), withdraws them
// (withdrawRewards), undelegates part of the delegation (undelegateTokens: completion time from
// the MsgUndelegateResponse), queries the unbonding entry, the staking pool and params, the
// distribution community pool and params and mint's inflation, annual provisions and params
// (MintExtension: what wallets compute an APR from). LegacyDec fields come off the wire as their
// 18-decimal atomics and are decoded with cosmjs' Decimal.fromAtomics (which throws on anything
// but digits). Prints one JSON summary line on stdout; any failed expectation throws (exit code
// 1, message on stderr).
// Used by tests/integration/test_cosmjs_staking.py.

import { Decimal } from "@cosmjs/math";
import { decodeTxRaw, DirectSecp256k1HdWallet } from "@cosmjs/proto-signing";
import {
  coin,
  GasPrice,
  QueryClient,
  setupDistributionExtension,
  setupMintExtension,
  setupStakingExtension,
  SigningStargateClient,
} from "@cosmjs/stargate";
import { connectComet } from "@cosmjs/tendermint-rpc";
import { MsgUndelegateResponse } from "cosmjs-types/cosmos/staking/v1beta1/tx";

const [rpcUrl, mnemonic] = process.argv.slice(2);
if (!rpcUrl || !mnemonic) {
  console.error("usage: node staking.mjs RPC_URL MNEMONIC");
  process.exit(2);
}

const DENOM = "ucgpt";
const DELEGATE = 3_000_000n; // 3 units of voting power
const UNDELEGATE = 1_000_000n;
const REWARD_BLOCKS = 4; // blocks to wait between the delegation and the rewards query
const UNDELEGATE_RESPONSE = "/cosmos.staking.v1beta1.MsgUndelegateResponse";

// JSON with bigints as strings
function json(value) {
  return JSON.stringify(value, (_, v) => (typeof v === "bigint" ? v.toString() : v));
}

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

// A LegacyDec as it comes off the protobuf wire (18-decimal atomics) → cosmjs' Decimal.
function dec(atomics) {
  return Decimal.fromAtomics(atomics, 18);
}

function decCoins(coins) {
  return coins.map((c) => ({ denom: c.denom, amount: dec(c.amount).toString(), atomics: c.amount }));
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

function attributes(events, type) {
  return events
    .filter((e) => e.type === type)
    .map((e) => Object.fromEntries(e.attributes.map((a) => [a.key, a.value])));
}

// the ucgpt amount of a coins string ("123ucgpt", "123ucgpt,4other", "" for none)
function amountOf(coins) {
  if (!coins) return 0n;
  for (const part of coins.split(",")) {
    const match = /^(\d+)(.+)$/.exec(part.trim());
    if (match && match[2] === DENOM) return BigInt(match[1]);
  }
  return 0n;
}

// the ucgpt withdrawn to `delegator` by a tx: its withdraw_rewards events
function withdrawn(events, delegator) {
  return attributes(events, "withdraw_rewards")
    .filter((a) => a.delegator === delegator)
    .reduce((sum, a) => sum + amountOf(a.amount), 0n);
}

async function paidFee(client, result) {
  const indexed = await client.getTx(result.transactionHash);
  check(indexed !== null, `getTx ${result.transactionHash}`);
  const c = decodeTxRaw(indexed.tx).authInfo.fee.amount.find((x) => x.denom === DENOM);
  return c ? BigInt(c.amount) : 0n;
}

function txSummary(result, fee) {
  return {
    hash: result.transactionHash,
    height: result.height,
    code: result.code,
    gasWanted: result.gasWanted.toString(),
    gasUsed: result.gasUsed.toString(),
    fee: fee.toString(),
  };
}

function validatorSummary(v) {
  return {
    operatorAddress: v.operatorAddress,
    status: v.status,
    jailed: v.jailed,
    tokens: v.tokens,
    delegatorShares: dec(v.delegatorShares).toString(),
    delegatorSharesAtomics: v.delegatorShares,
    moniker: v.description.moniker,
    consensusPubkeyType: v.consensusPubkey?.typeUrl ?? null,
    commissionRate: dec(v.commission.commissionRates.rate).toString(),
    commissionMaxRate: dec(v.commission.commissionRates.maxRate).toString(),
    commissionMaxChangeRate: dec(v.commission.commissionRates.maxChangeRate).toString(),
    minSelfDelegation: v.minSelfDelegation,
  };
}

async function main() {
  const wallet = await DirectSecp256k1HdWallet.fromMnemonic(mnemonic, { prefix: "aivm" });
  const [{ address: delegator }] = await wallet.getAccounts();
  const comet = await connectComet(rpcUrl);
  const queries = QueryClient.withExtensions(
    comet,
    setupStakingExtension,
    setupDistributionExtension,
    setupMintExtension,
  );
  const client = await SigningStargateClient.connectWithSigner(rpcUrl, wallet, {
    gasPrice: GasPrice.fromString(`0.025${DENOM}`),
    broadcastPollIntervalMs: 200,
    broadcastTimeoutMs: 30_000,
  });

  // validators
  const bonded = await queries.staking.validators("BOND_STATUS_BONDED");
  check(bonded.validators.length >= 1, "at least one bonded validator");
  const all = await queries.staking.validators("");
  check(all.validators.length >= bonded.validators.length, "all validators ⊇ bonded");
  const validator = bonded.validators[0].operatorAddress;
  const one = await queries.staking.validator(validator);
  check(one.validator.operatorAddress === validator, "staking.validator");
  const before = validatorSummary(one.validator);

  // delegate
  const balanceBeforeDelegate = BigInt((await client.getBalance(delegator, DENOM)).amount);
  const none = await client.getDelegation(delegator, validator);
  check(none === null, `no delegation before: ${json(none)}`);
  const delegate = await client.delegateTokens(
    delegator,
    validator,
    coin(DELEGATE.toString(), DENOM),
    "auto",
    "cosmjs delegate",
  );
  check(delegate.code === 0, `delegate code ${delegate.code}: ${delegate.rawLog}`);
  const delegateFee = await paidFee(client, delegate);
  const delegateEvents = attributes(delegate.events, "delegate");
  check(delegateEvents.length === 1, `one delegate event: ${json(delegateEvents)}`);
  const balanceAfterDelegate = BigInt((await client.getBalance(delegator, DENOM)).amount);
  check(
    balanceAfterDelegate === balanceBeforeDelegate - DELEGATE - delegateFee,
    `balance after delegate ${balanceAfterDelegate} (before ${balanceBeforeDelegate}, fee ${delegateFee})`,
  );

  const delegation = (await queries.staking.delegation(delegator, validator)).delegationResponse;
  check(delegation.delegation.delegatorAddress === delegator, "delegation delegator");
  check(delegation.delegation.validatorAddress === validator, "delegation validator");
  check(delegation.balance.denom === DENOM && delegation.balance.amount === DELEGATE.toString(), "delegation balance");
  const viaClient = await client.getDelegation(delegator, validator);
  check(viaClient !== null && viaClient.amount === DELEGATE.toString(), `getDelegation ${json(viaClient)}`);
  const byValidator = await queries.staking.validatorDelegations(validator);
  const delegators = byValidator.delegationResponses.map((d) => d.delegation.delegatorAddress).sort();
  check(delegators.includes(delegator), "validatorDelegations lists the delegator");
  const byDelegator = await queries.staking.delegatorDelegations(delegator);
  check(byDelegator.delegationResponses.length === 1, "delegatorDelegations");
  const after = validatorSummary((await queries.staking.validator(validator)).validator);
  const delegatorValidators = await queries.staking.delegatorValidators(delegator);
  check(
    delegatorValidators.validators.map((v) => v.operatorAddress).join() === validator,
    "delegatorValidators",
  );
  const historical = (await queries.staking.historicalInfo(delegate.height)).hist;
  check(historical.header.height === BigInt(delegate.height), `historical info height ${historical.header.height}`);
  check(historical.valset.some((v) => v.operatorAddress === validator), "historical info valset");
  const withdrawAddress = await queries.distribution.delegatorWithdrawAddress(delegator);
  check(withdrawAddress.withdrawAddress === delegator, `withdraw address ${withdrawAddress.withdrawAddress}`);
  const slashes = await queries.distribution.validatorSlashes(validator, 1, delegate.height);
  check(slashes.slashes.length === 0, "no slashes");
  check(BigInt(after.tokens) === BigInt(before.tokens) + DELEGATE, "validator tokens grew by the delegation");

  // rewards
  await waitHeight(client, delegate.height + REWARD_BLOCKS);
  const rewardsHeight = await client.getHeight();
  const rewards = await queries.distribution.delegationRewards(delegator, validator);
  const total = await queries.distribution.delegationTotalRewards(delegator);
  check(total.rewards.length === 1 && total.rewards[0].validatorAddress === validator, "total rewards per validator");
  const rewardAmount = rewards.rewards.find((c) => c.denom === DENOM);
  check(rewardAmount !== undefined, `a ${DENOM} reward: ${json(rewards.rewards)}`);
  check(dec(rewardAmount.amount).isGreaterThan(Decimal.zero(18)), "reward > 0");
  const outstanding = await queries.distribution.validatorOutstandingRewards(validator);
  const commission = await queries.distribution.validatorCommission(validator);

  // withdraw rewards
  const balanceBeforeWithdraw = BigInt((await client.getBalance(delegator, DENOM)).amount);
  const withdraw = await client.withdrawRewards(delegator, validator, "auto", "cosmjs withdraw");
  check(withdraw.code === 0, `withdraw code ${withdraw.code}: ${withdraw.rawLog}`);
  const withdrawFee = await paidFee(client, withdraw);
  const withdrawnAmount = withdrawn(withdraw.events, delegator);
  const balanceAfterWithdraw = BigInt((await client.getBalance(delegator, DENOM)).amount);
  check(
    balanceAfterWithdraw === balanceBeforeWithdraw - withdrawFee + withdrawnAmount,
    `balance after withdraw ${balanceAfterWithdraw} (before ${balanceBeforeWithdraw}, ` +
      `fee ${withdrawFee}, withdrawn ${withdrawnAmount})`,
  );
  // rewards only grow between the query and the withdrawal
  check(withdrawnAmount >= BigInt(dec(rewardAmount.amount).floor().toString()), "withdrawn ≥ queried rewards");

  // undelegate
  const balanceBeforeUndelegate = BigInt((await client.getBalance(delegator, DENOM)).amount);
  const undelegate = await client.undelegateTokens(
    delegator,
    validator,
    coin(UNDELEGATE.toString(), DENOM),
    "auto",
    "cosmjs undelegate",
  );
  check(undelegate.code === 0, `undelegate code ${undelegate.code}: ${undelegate.rawLog}`);
  const undelegateFee = await paidFee(client, undelegate);
  check(undelegate.msgResponses.length === 1, "one msg response");
  check(undelegate.msgResponses[0].typeUrl === UNDELEGATE_RESPONSE, `response ${undelegate.msgResponses[0].typeUrl}`);
  const response = MsgUndelegateResponse.decode(undelegate.msgResponses[0].value);
  check(response.amount.denom === DENOM && response.amount.amount === UNDELEGATE.toString(), "response amount");
  const unbondEvents = attributes(undelegate.events, "unbond");
  check(unbondEvents.length === 1, `one unbond event: ${json(unbondEvents)}`);
  const undelegateWithdrawn = withdrawn(undelegate.events, delegator);
  const balanceAfterUndelegate = BigInt((await client.getBalance(delegator, DENOM)).amount);
  check(
    balanceAfterUndelegate === balanceBeforeUndelegate - undelegateFee + undelegateWithdrawn,
    `balance after undelegate ${balanceAfterUndelegate} (before ${balanceBeforeUndelegate}, ` +
      `fee ${undelegateFee}, withdrawn ${undelegateWithdrawn})`,
  );
  const unbonding = await queries.staking.delegatorUnbondingDelegations(delegator);
  check(unbonding.unbondingResponses.length === 1, "one unbonding delegation");
  const ubd = unbonding.unbondingResponses[0];
  check(ubd.delegatorAddress === delegator && ubd.validatorAddress === validator, "unbonding addresses");
  check(ubd.entries.length === 1, "one unbonding entry");
  const entry = ubd.entries[0];
  const remaining = (await queries.staking.delegation(delegator, validator)).delegationResponse;

  // pool and params
  const pool = (await queries.staking.pool()).pool;
  const stakingParams = (await queries.staking.params()).params;
  const communityPool = await queries.distribution.communityPool();
  const distributionParams = (await queries.distribution.params()).params;
  // mint (the APR wallets show): LegacyDec bytes/strings decoded by cosmjs itself
  const inflation = await queries.mint.inflation();
  const annualProvisions = await queries.mint.annualProvisions();
  const mintParams = await queries.mint.params();

  const summary = {
    delegator,
    validator,
    bondedValidators: bonded.validators.map((v) => v.operatorAddress),
    allValidators: all.validators.map((v) => v.operatorAddress),
    validatorBefore: before,
    validatorAfter: after,
    delegate: { ...txSummary(delegate, delegateFee), event: delegateEvents[0] },
    delegation: {
      shares: dec(delegation.delegation.shares).toString(),
      sharesAtomics: delegation.delegation.shares,
      balance: delegation.balance.amount,
    },
    validatorDelegators: delegators,
    historicalInfo: {
      height: historical.header.height.toString(),
      chainId: historical.header.chainId,
      valset: historical.valset.map((v) => v.operatorAddress),
    },
    rewards: {
      height: rewardsHeight,
      rewards: decCoins(rewards.rewards),
      total: decCoins(total.total),
      totalByValidator: total.rewards.map((r) => ({ validator: r.validatorAddress, reward: decCoins(r.reward) })),
      outstanding: decCoins(outstanding.rewards.rewards),
      commission: decCoins(commission.commission.commission),
    },
    withdraw: {
      ...txSummary(withdraw, withdrawFee),
      withdrawn: withdrawnAmount.toString(),
      balanceBefore: balanceBeforeWithdraw.toString(),
      balanceAfter: balanceAfterWithdraw.toString(),
    },
    undelegate: {
      ...txSummary(undelegate, undelegateFee),
      completionTime: {
        seconds: response.completionTime.seconds.toString(),
        nanos: response.completionTime.nanos,
      },
      event: unbondEvents[0],
      withdrawn: undelegateWithdrawn.toString(),
    },
    unbondingEntry: {
      creationHeight: entry.creationHeight.toString(),
      completionTime: { seconds: entry.completionTime.seconds.toString(), nanos: entry.completionTime.nanos },
      initialBalance: entry.initialBalance,
      balance: entry.balance,
      unbondingId: entry.unbondingId.toString(),
    },
    remainingDelegation: {
      shares: dec(remaining.delegation.shares).toString(),
      balance: remaining.balance.amount,
    },
    pool: { bondedTokens: pool.bondedTokens, notBondedTokens: pool.notBondedTokens },
    stakingParams: {
      unbondingTime: {
        seconds: stakingParams.unbondingTime.seconds.toString(),
        nanos: stakingParams.unbondingTime.nanos,
      },
      maxValidators: stakingParams.maxValidators,
      maxEntries: stakingParams.maxEntries,
      historicalEntries: stakingParams.historicalEntries,
      bondDenom: stakingParams.bondDenom,
      minCommissionRate: dec(stakingParams.minCommissionRate).toString(),
    },
    communityPool: decCoins(communityPool.pool),
    distributionParams: {
      communityTax: dec(distributionParams.communityTax).toString(),
      baseProposerReward: dec(distributionParams.baseProposerReward).toString(),
      bonusProposerReward: dec(distributionParams.bonusProposerReward).toString(),
      withdrawAddrEnabled: distributionParams.withdrawAddrEnabled,
    },
    mint: {
      inflation: inflation.toString(),
      annualProvisions: annualProvisions.toString(),
      params: {
        mintDenom: mintParams.mintDenom,
        inflationRateChange: mintParams.inflationRateChange.toString(),
        inflationMax: mintParams.inflationMax.toString(),
        inflationMin: mintParams.inflationMin.toString(),
        goalBonded: mintParams.goalBonded.toString(),
        blocksPerYear: mintParams.blocksPerYear.toString(),
      },
    },
  };
  client.disconnect();
  comet.disconnect();
  process.stdout.write(json(summary) + "\n", () => process.exit(0));
}

main().catch((error) => {
  console.error(error && error.stack ? error.stack : String(error));
  process.exit(1);
});
