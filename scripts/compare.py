#!/usr/bin/env python3
"""Two hedui binaries timed against each other on one batch.

    scripts/compare.py A B [--scale county | --input DIR] [--pairs 4]
                       [--warmup 1] [--threads N] [--seed 1] [--as-of 2025-11-30]

The 2-core machines hedui is measured on vary by a third from one hour to the
next (the host's cost of a fresh page of memory above all: BENCHMARKS.md,
session 61), more than most changes gain, so runs of one binary an hour apart
from the other's say nothing. This script alternates the two within the same
minutes, A then B, then B then A, for `--pairs` pairs (an even number, so
that each goes first as often), and prints for each
binary the median wall time, CPU time (user + system), system time, peak
memory and stage times (the manifest's), and the median of the pairs'
differences B - A: a difference smaller than the spread of either side is no
difference. `--warmup` runs of each binary come first, untimed.

Every run starts from an empty state folder (each a first run of the case
ledger, so that neither binary's runs see more history than the other's),
writes a fresh output folder, and must exit 0. Each run's output files but
the manifest (which differs in its timings) are digested and compared with
the first run's, A's: an optimisation must not change a byte of the outputs
(spec/outputs.md), and a binary whose outputs differ between its own runs is
not deterministic. The script exits 1 when any output differs, 2 when it
cannot compare (a binary missing, a run that fails: its folder is left for
a look and named).

Batches: `--input DIR` for a folder of extracts; otherwise `--scale` and
`--seed` name the batch scripts/bench.sh generates and caches under
$HEDUI_BENCH_DIR (default ~/.cache/hedui/bench), generated here with A when
missing. Outputs go to $HEDUI_BENCH_DIR/compare and are removed as soon as
their digests are taken (a city's are gigabytes).
"""

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

# Output files whose bytes are not a contract: the manifest holds the run's
# timings.
NOT_COMPARED = {"manifest.json"}


def main():
    # The runs' folders hold ID numbers and names in full, as hedui's own
    # output does: owner-only.
    os.umask(0o077)
    args = parse_args()
    root = Path(os.environ.get("HEDUI_BENCH_DIR", Path.home() / ".cache/hedui/bench"))
    bins = {"A": Path(args.a).resolve(), "B": Path(args.b).resolve()}
    for label, binary in bins.items():
        if not binary.is_file() or not os.access(binary, os.X_OK):
            fail(f"{label}: {binary} is not an executable file")
    input_dir = Path(args.input) if args.input else batch(root, args, bins["A"])
    if not input_dir.is_dir():
        fail(f"{input_dir} is not a folder of extracts")
    work = root / "compare"
    work.mkdir(parents=True, exist_ok=True)
    warm(input_dir)

    for n in range(args.warmup):
        for label in ("A", "B"):
            timed_run(bins[label], input_dir, work / f"{label}-warm{n}", args, digest=False)
    runs = {"A": [], "B": []}
    reference = None
    differences = []
    for pair in range(args.pairs):
        order = ["A", "B"] if pair % 2 == 0 else ["B", "A"]
        for label in order:
            run = timed_run(bins[label], input_dir, work / f"{label}{pair}", args)
            runs[label].append(run)
            print(
                f"pair {pair + 1} {label}: {run['wall']:.2f} s wall, "
                f"{run['cpu']:.2f} s CPU ({run['sys']:.2f} system), "
                f"{run['peak_gb']:.2f} GB; "
                + " ".join(f"{k} {v:.2f}" for k, v in run["stages"].items()),
                flush=True,
            )
            if reference is None:
                reference = run["digests"]
            elif run["digests"] != reference:
                files = sorted(
                    f
                    for f in set(reference) | set(run["digests"])
                    if reference.get(f) != run["digests"].get(f)
                )
                differences.append((pair + 1, label, files))
                print(f"  outputs differ from A's first run: {', '.join(files)}")
    report(runs)
    if differences:
        print("outputs differ: " + "; ".join(f"pair {p} {l}: {', '.join(f)}" for p, l, f in differences))
        sys.exit(1)
    print(f"outputs identical in all {2 * args.pairs} runs ({len(reference)} files)")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("a", help="binary A (the baseline)")
    p.add_argument("b", help="binary B (the change)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--scale", default="county", help="a generated scale (default county)")
    where.add_argument("--input", help="a folder of extracts instead of a generated scale")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--pairs", type=int, default=4)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--as-of", default="2025-11-30")
    p.add_argument(
        "--warmup",
        type=int,
        default=1,
        help="untimed runs of each binary first (default 1): a binary's first run "
        "loads it from disk, and the first minutes of a session fault in fresh memory",
    )
    args = p.parse_args()
    if args.pairs < 1:
        p.error("--pairs must be at least 1")
    return args


def batch(root, args, generator):
    """The generated batch of the scale and seed, generated when missing."""
    data = root / f"{args.scale}-{args.seed}"
    if not (data / ".complete").exists():
        shutil.rmtree(data, ignore_errors=True)
        print(f"== generate {args.scale} (seed {args.seed})", flush=True)
        generated = subprocess.run(
            [str(generator), "generate", "--scale", args.scale, "--seed", str(args.seed),
             "--as-of", args.as_of, "--out", str(data)],
        )
        if generated.returncode != 0:
            fail(f"{generator} generate exited {generated.returncode}")
        (data / ".complete").touch()
    return data / "input"


def warm(input_dir):
    """Reads the batch once so that both binaries read it from the page cache."""
    for f in sorted(input_dir.iterdir()):
        if f.is_file():
            with open(f, "rb") as fh:
                while fh.read(1 << 24):
                    pass


def timed_run(binary, input_dir, place, args, digest=True):
    """One `hedui run` into a fresh folder: its times, peak memory, stage
    times and, with `digest`, the digests of its output files (a warm-up's
    are not compared: a city's take seconds to read). The folder is
    removed."""
    shutil.rmtree(place, ignore_errors=True)
    place.mkdir(parents=True)
    out, state = place / "out", place / "state"
    config = place / "config.toml"
    # A TOML basic string takes JSON's escapes.
    config.write_text(f"state_dir = {json.dumps(str(state))}\n")
    cmd = [str(binary), "run", "--input", str(input_dir), "--out", str(out),
           "--as-of", args.as_of, "--threads", str(args.threads), "--config", str(config)]
    with open(place / "stderr.txt", "wb") as err:
        start = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        tail = (place / "stderr.txt").read_text(errors="replace")[-2000:]
        fail(f"{binary} exited {code} (its folder is left in {place}):\n{tail}")
    manifest = json.loads((out / "manifest.json").read_text())
    run = {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "sys": usage.ru_stime,
        # ru_maxrss is in kilobytes on Linux.
        "peak_gb": usage.ru_maxrss / 1048576,
        "stages": {s["name"]: s["seconds"] for s in manifest["stages"]},
        "digests": digests(out) if digest else {},
    }
    shutil.rmtree(place)
    return run


def digests(out):
    result = {}
    for f in sorted(out.iterdir()):
        if f.name in NOT_COMPARED or not f.is_file():
            continue
        h = hashlib.sha256()
        with open(f, "rb") as fh:
            while chunk := fh.read(1 << 24):
                h.update(chunk)
        result[f.name] = h.hexdigest()
    return result


def report(runs):
    a, b = runs["A"], runs["B"]
    stages = list(dict.fromkeys(s for r in a + b for s in r["stages"]))
    measures = [("wall", "wall s"), ("cpu", "CPU s"), ("sys", "system s"), ("peak_gb", "peak GB")]
    measures += [(s, f"{s} s") for s in stages]

    def value(run, key):
        return run["stages"].get(key) if key in stages else run[key]

    print(f"\n{'median of ' + str(len(a)) + ' pairs':<20}{'A':>9}{'B':>9}{'B - A':>9}   A range / B range")
    for key, name in measures:
        va = [value(r, key) for r in a]
        vb = [value(r, key) for r in b]
        if None in va or None in vb:
            # A stage one binary does not have: nothing to compare.
            print(f"{name:<20}" + "".join(f"{median_or_dash(v):>9}" for v in (va, vb)) + f"{'–':>9}")
            continue
        diff = statistics.median(y - x for x, y in zip(va, vb))
        print(
            f"{name:<20}{statistics.median(va):9.2f}{statistics.median(vb):9.2f}{diff:+9.2f}"
            f"   {min(va):.2f}–{max(va):.2f} / {min(vb):.2f}–{max(vb):.2f}"
        )


def median_or_dash(values):
    present = [v for v in values if v is not None]
    return f"{statistics.median(present):.2f}" if len(present) == len(values) else "–"


def fail(message):
    """Ends the script with exit code 2: no verdict, as opposed to 1."""
    print(message, file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
    try:
        main()
    except (OSError, ValueError, KeyError) as e:
        # Exit 1 says the outputs differ: anything else that stops the
        # comparison is no verdict.
        fail(f"cannot compare: {e!r}")
