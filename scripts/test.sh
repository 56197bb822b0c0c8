#!/usr/bin/env bash
# The project's test command (README.md): every unit, integration, golden,
# conformance and differential test of the workspace, then the independent
# conformance checker over the release build of the CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo nextest run --workspace --no-fail-fast
cargo test --doc --workspace -q
cargo build --release -q -p oxbpf-cli
python3 testdata/conformance/check.py --cpu-version v4 --include-groups callx packet --strict-errors -j 2 \
  -- "${CARGO_TARGET_DIR:-target}/release/oxbpf" conformance-plugin
