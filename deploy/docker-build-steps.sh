#!/usr/bin/env bash
# The Dockerfile's build steps, run without Docker (CI has no engine): build a clean virtualenv
# from the repository as the image's first stage does, then check what the second stage relies
# on: the console script, the bundled data inside the installed package, and the demo.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
python="${PY:-python3.11}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Stage 1: the same COPY set (pyproject.toml, README.md, src) into a clean folder, then pip install.
mkdir "$work/src"
cp "$repo/pyproject.toml" "$repo/README.md" "$work/src/"
cp -r "$repo/src" "$work/src/src"
"$python" -m venv "$work/venv"
"$work/venv/bin/pip" install -q --no-cache-dir --disable-pip-version-check "$work/src"
"$work/venv/bin/tradewind" --version
# Stage 2: run as the image does, from an empty working folder, with no source tree beside it.
mkdir "$work/home"
cd "$work/home"
"$work/venv/bin/python" - <<'PY'
from tradewind.testing.shared_data import shared_data_dir
found = shared_data_dir()
assert found is not None and "site-packages" in str(found), found
print(f"bundled data inside the installed package: {found}")
PY
"$work/venv/bin/tradewind" demo --run-dir "$work/home/runs/demo" >/dev/null
test -s "$work/home/runs/demo/report.html"
echo "docker build steps: ok"
