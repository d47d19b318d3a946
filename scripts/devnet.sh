#!/usr/bin/env bash
# Run the embedded AIVM devnet on a fresh machine, with a short demo.
#
# Creates .venv and installs AIVM (with the model importers), starts `aivm devnet` (RPC :26657,
# REST :1317), then shows the basics with the CLI: a new key receives funds from a dev account,
# sends some back, and the balances and the tx are queried. Then on-chain AI: a credit-risk
# model is trained, imported into the DSM format, registered, and scores applicants on chain
# (CLI, then the Python SDK in examples/credit_scoring/demo.py), and an execution is
# re-verified locally. The devnet keeps running until Ctrl-C.
# Extra arguments go to `aivm devnet` (e.g. --reset, --block-time 500ms).
# Data lives in $AIVM_HOME (default ~/.aivm).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[ml]'

AIVM=.venv/bin/aivm
AIVM_HOME="${AIVM_HOME:-$HOME/.aivm}"
KEYS=(--home "$AIVM_HOME" --keyring-backend test)

"$AIVM" devnet --home "$AIVM_HOME" "$@" &
DEVNET=$!
trap 'kill -TERM "$DEVNET" 2>/dev/null || true; wait "$DEVNET" 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM

echo "== waiting for the first blocks"
for _ in $(seq 1 60); do
    height=$("$AIVM" status -o json 2>/dev/null | .venv/bin/python -c \
        'import json,sys; print(json.load(sys.stdin).get("latest_block_height", 0))' 2>/dev/null || echo 0)
    [ "${height:-0}" -ge 2 ] && break
    sleep 0.5
done

echo "== demo: keys"
if ! "$AIVM" keys show dev0 "${KEYS[@]}" >/dev/null 2>&1; then
    .venv/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["mnemonic"])' \
        "$AIVM_HOME/config/dev_accounts.json" | "$AIVM" keys import dev0 "${KEYS[@]}"
fi
if ! "$AIVM" keys show demo "${KEYS[@]}" >/dev/null 2>&1; then
    "$AIVM" keys add demo "${KEYS[@]}" >/dev/null
fi
"$AIVM" keys list "${KEYS[@]}"
DEMO=$("$AIVM" keys show demo -a "${KEYS[@]}")

echo "== demo: dev0 sends 1 CGPT to demo ($DEMO)"
"$AIVM" tx bank send dev0 "$DEMO" 1000000ucgpt --yes --wait "${KEYS[@]}"
echo "== demo: demo sends 1000ucgpt back"
"$AIVM" tx bank send demo "$("$AIVM" keys show dev0 -a "${KEYS[@]}")" 1000ucgpt --yes --wait "${KEYS[@]}"
echo "== demo: balances of demo"
"$AIVM" query bank balances "$DEMO" "${KEYS[@]}"
"$AIVM" query account "$DEMO" "${KEYS[@]}"

echo "== demo: on-chain AI — train a credit-risk model and import it (examples/credit_scoring)"
WORK="$AIVM_HOME/demo/credit"
.venv/bin/python examples/credit_scoring/train.py --out "$WORK"
"$AIVM" ai import "$WORK/model.joblib" --out "$WORK/credit.dsm" --decimals 2 "${KEYS[@]}"
DEV0=$("$AIVM" keys show dev0 -a "${KEYS[@]}")
MODEL_ID=$("$AIVM" query ai models --owner "$DEV0" -o json "${KEYS[@]}" | .venv/bin/python -c \
    'import json,sys; print(next((m["id"] for m in json.load(sys.stdin)["models"] if m["name"] == "credit-risk"), ""))')
if [ -z "$MODEL_ID" ]; then
    echo "== demo: register it on chain (price 100ucgpt per inference, paid to dev0)"
    MODEL_ID=$("$AIVM" tx ai register "$WORK/credit.dsm" --name credit-risk --version 1.0.0 \
        --price 100ucgpt --tag credit --license Apache-2.0 --from dev0 --yes -o json "${KEYS[@]}" \
        | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["model_id"])')
fi
"$AIVM" query ai model "$MODEL_ID" "${KEYS[@]}" | head -n 12
echo "== demo: score an applicant on chain (age, income_k, dti, utilization, late payments, years employed, loan_k, accounts)"
EXEC=$("$AIVM" tx ai infer "$MODEL_ID" 35,48.50,0.31,0.92,3,2.50,30,6 --from demo --yes -o json "${KEYS[@]}" \
    | .venv/bin/python -c 'import json,sys; d=json.load(sys.stdin); print(d["execution_id"]); print("on-chain decision (1 = default):", d["output"], file=sys.stderr)')
"$AIVM" query ai execution "$EXEC" "${KEYS[@]}"
echo "== demo: re-run execution $EXEC locally from chain data"
"$AIVM" ai verify-local "$EXEC" "${KEYS[@]}"
echo "== demo: the same through the Python SDK, with agreement against the float model"
.venv/bin/python examples/credit_scoring/demo.py --node http://127.0.0.1:26657 \
    --mnemonic-file "$AIVM_HOME/config/dev_accounts.json" --applicants 10

echo "== devnet running: RPC http://127.0.0.1:26657, REST http://127.0.0.1:1317, home $AIVM_HOME. Ctrl-C to stop."
wait "$DEVNET"
