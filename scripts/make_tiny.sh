#!/usr/bin/env bash
# Regenerates the committed tiny county (fixtures/tiny/): the demo batch of the
# README and the input of the end-to-end golden tests. Seeded: the same
# generator gives the same bytes. After a generator change, rerun this and
# review the golden files (cargo insta review, or INSTA_UPDATE=always).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf fixtures/tiny
cargo run --release --quiet -- generate --scale tiny --seed 7 --as-of 2025-11-30 --out fixtures/tiny
