#!/usr/bin/env bash
# schemathesis against a running bot's operator API (the demo's paper session on the exchange
# simulator, served on loopback): every operation in its OpenAPI schema is fuzzed with an admin
# token for 40 seconds; the run fails on any 5xx or on a secured operation that answers
# without a valid token (ignored_auth). Run from the repository root with the venv on PATH.
set -euo pipefail
work="$(mktemp -d)"
port="$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
TRADEWIND__API__TOKEN="$(python -c 'import secrets; print(secrets.token_hex(24))')"
export TRADEWIND__API__TOKEN
# The checks send wrong tokens on purpose: lift the failed-login limit (429 after the tenth from
# one address) for this bot, or most requests would meet 429 instead of the API.
export TRADEWIND__API__MAX_FAILED_LOGINS=1000000000
tradewind demo --serve --port "$port" --run-dir "$work/demo" >"$work/demo.log" 2>&1 &
bot=$!
stop_bot() {
    kill -INT "$bot" 2>/dev/null || true
    wait "$bot" 2>/dev/null || true
    rm -rf "$work"
}
trap stop_bot EXIT
# The event stream is endless by design, and /health answers 503 by design when a component is
# not ok (the fuzzed emergency stop halts the bot); both are tested on their own.
st run "http://127.0.0.1:$port/openapi.json" --wait-for-schema 90 \
    -H "Authorization: Bearer $TRADEWIND__API__TOKEN" \
    --checks not_a_server_error,ignored_auth \
    --exclude-path /api/v1/events --exclude-path /health \
    --max-time 40 --seed 1 --no-color \
    || { echo "api fuzz failed; the bot's log:"; tail -n 40 "$work/demo.log"; exit 1; }
