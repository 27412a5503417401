#!/usr/bin/env bash
# The reliability checks too slow for `cargo test` (see docs/reliability.md):
#  1. a check-in post in flight at SIGKILL is completed once after the
#     2-minute post lease (~2.5 min);
#  2. the SIGKILL / SIGTERM / lock tests again with fresh random seeds, to
#     try more kill points than one `cargo test` run does.
# Each test prints its seed; `TRELLIS_SEED=<seed> cargo test --test process
# durability::` replays a failure. Usage: scripts/reliability.sh [ROUNDS] (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"

cargo test --locked --test process durability:: -- --ignored --nocapture

for i in $(seq 1 "$rounds"); do
    echo "== seed round $i/$rounds"
    cargo test --locked --test process -- --nocapture durability:: operations::
done
