#!/usr/bin/env bash
# Run the embedded AIVM devnet on a fresh machine, with a short demo.
#
# Creates .venv and installs AIVM, starts `aivm devnet` (RPC :26657, REST :1317), then
# shows the basics with the CLI: a new key receives funds from a dev account, sends some
# back, and the balances and the tx are queried. The devnet keeps running until Ctrl-C.
# Extra arguments go to `aivm devnet` (e.g. --reset, --block-time 500ms).
# Data lives in $AIVM_HOME (default ~/.aivm).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .

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

echo "== devnet running: RPC http://127.0.0.1:26657, REST http://127.0.0.1:1317, home $AIVM_HOME. Ctrl-C to stop."
wait "$DEVNET"
