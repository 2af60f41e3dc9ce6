#!/usr/bin/env bash
# End-to-end benchmark of hedui against the parse floor.
#
#   scripts/bench.sh [tiny|small|county|city] [seed]
#
# Generates the scale's data once per seed (cached under $HEDUI_BENCH_DIR,
# default ~/.cache/hedui/bench), then:
#   1. floor: the UTF-8 CSV/TSV inputs merely parsed into Arrow string
#      columns (examples/floor.rs, arrow-csv), on the same threads;
#   2. run:   `hedui run` end to end (every file, GB18030 and XLSX included,
#      and writing every output), with per-stage times from the manifest and
#      peak memory, user and system time from /usr/bin/time -v; a city (over
#      2 GB of input) runs with its tables on disk ([engine] in the config);
#   3. evaluate: link and finding quality against the generator's truth.
# Prints the ratio run / floor. Needs /usr/bin/time (Debian package `time`).
set -euo pipefail
cd "$(dirname "$0")/.."

scale="${1:-county}"
seed="${2:-1}"
as_of="2025-11-30"
root="${HEDUI_BENCH_DIR:-$HOME/.cache/hedui/bench}"
threads="${HEDUI_BENCH_THREADS:-$(nproc)}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/hedui/target}"

if [ ! -x /usr/bin/time ]; then
  apt-get install -y time >/dev/null
fi
cargo build --release --locked --bin hedui --example floor
bin="$CARGO_TARGET_DIR/release"

data="$root/$scale-$seed"
if [ ! -f "$data/.complete" ]; then
  rm -rf "$data"
  echo "== generate $scale (seed $seed)"
  /usr/bin/time -f "generate: %e s, peak %M KB" \
    "$bin/hedui" generate --scale "$scale" --seed "$seed" --as-of "$as_of" --out "$data"
  touch "$data/.complete"
fi
echo "== input: $(du -sh "$data/input" | cut -f1) in $(ls "$data/input" | wc -l) files"

# Warm the page cache so that both sides read from memory.
cat "$data"/input/* >/dev/null

echo "== floor (arrow-csv, UTF-8 CSV/TSV only, $threads threads)"
"$bin/examples/floor" "$data/input" --threads "$threads" | tee "$root/floor-$scale.txt"
floor=$(sed -n 's/^floor_seconds=\([0-9.]*\).*/\1/p' "$root/floor-$scale.txt")

# Each scale and seed its own output and state folder (case ledger, volume
# gate): a county after a city would otherwise trip the shrink gate.
out="$root/run-$scale-$seed/out"
echo "== hedui run ($threads threads)"
/usr/bin/time -v -o "$root/time-$scale.txt" \
  "$bin/hedui" --log-format json run --input "$data/input" --out "$out" \
  --as-of "$as_of" --threads "$threads" >/dev/null 2>"$root/log-$scale.txt"
wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$root/time-$scale.txt")
peak=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$root/time-$scale.txt")
user=$(sed -n 's/.*User time (seconds): //p' "$root/time-$scale.txt")
system=$(sed -n 's/.*System time (seconds): //p' "$root/time-$scale.txt")

python3 - "$out/manifest.json" "$wall" "$peak" "$floor" "$user" "$system" <<'PY'
import json, sys
manifest, wall, peak_kb, floor = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
user, system = float(sys.argv[5]), float(sys.argv[6])
parts = [float(p) for p in wall.split(":")]
seconds = parts[-1] + 60 * parts[-2] + (3600 * parts[-3] if len(parts) > 2 else 0)
m = json.load(open(manifest))
rows = sum(i["rows_read"] for i in m["inputs"])
print(f"run: {seconds:.1f} s wall, peak {peak_kb / 1048576:.2f} GB, {rows} rows read")
# About half the system time is the kernel handing out fresh pages, which
# costs a virtual machine more in some hours than others; most of the rest
# is copying work files in and out of the page cache (BENCHMARKS.md,
# session 62).
print(f"  CPU {user + system:.1f} s (user {user:.1f}, system {system:.1f})")
for s in m["stages"]:
    print(f"  {s['name']:<8} {s['seconds']:7.1f} s")
print(f"floor: {floor:.2f} s   ratio run/floor: {seconds / floor:.1f}")
PY

echo "== evaluate"
"$bin/hedui" evaluate --truth "$data/truth" --out "$out" | tail -25
