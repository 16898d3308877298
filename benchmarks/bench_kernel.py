#!/usr/bin/env python3
"""Kernel benchmark: the C cell's step + RTRL traces + gradient against the machine's peak.

In one run, in alternating rounds (so that load from elsewhere falls on all alike), best of the
rounds for each:

* peak            benchmarks/bench_peak.c, float32 FMA throughput of one core (NATIVE_FLAGS:
                  -march=native, on x86-64 the CPU's widest vectors);
* ceilings        the same probe unfused (a multiply and an add apiece) with the default build's
                  flags and with the AVX2 variant's: what arithmetic that fuses no multiply-add
                  can do at each build's vectors (the native build fuses: its ceiling is the
                  peak);
* default build   benchmarks/bench_cell.c on this tree's core at the default flags (-O3), float32;
* avx2 build      the same plus rtu_edge._build.AVX2_FLAGS: the default install's AVX2 variant,
                  which the package runs on an x86-64 CPU with AVX2 (the same bits as the default
                  build); only where the CPU runs it;
* native build    the same at -O3 plus rtu_edge._build.NATIVE_FLAGS (what RTU_EDGE_NATIVE=1
                  builds the extension with);
* baseline        with ``--baseline DIR``: bench_cell.c on another core's sources (DIR is a c_src/
                  directory, e.g. of a git worktree of an earlier commit) at the default flags;
* learner         benchmarks/bench_loop.c in each of those builds (the whole core): a transition
                  of the actor-critic (rtu_ac_act + rtu_ac_learn) on the C CartPole-P plant, with
                  rtu-edge train's CartPole-P network and the previous action and reward as
                  inputs.

Each kernel's GFLOP/s counts the cost model's FLOPs (rtu_edge.flops.flops_per_step; the learner's
rtu_edge.flops.ac_flops_per_step), and is given as a fraction of the peak. Configurations: the
linear and nonlinear kinds at n_hidden 64, n_in 16, the linear kind at n_in 16 from n_hidden 64
to 1024 (scaling past the caches), and the learner.

Usage:
    python benchmarks/bench_kernel.py                        # about a minute
    python benchmarks/bench_kernel.py --baseline /tmp/base/c_src
    python benchmarks/bench_kernel.py --quick                # smoke run

The markdown table goes to stdout; the script ends with the targets at n_hidden 64, n_in 16 (the
linear and the nonlinear kind) and of the learner: the native build at >= 40% of the peak; with
--baseline, >= 3x faster than the baseline built at the default flags, for the default build (the
issue's reading), the AVX2 variant (what a default install runs here) and the native build, each
with the GFLOP/s 3x needs against its build's ceiling.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional

import _cprogram
from _cprogram import ROOT, compiler_version, cpu_model
from _args import positive_int
from rtu_edge.flops import ac_flops_per_step, flops_per_step
from rtu_edge.reference.config import ACNetwork
from rtu_edge.train import RunConfig

CELL_SOURCES = ("rtu_status.c", "rtu_prng.c", "rtu_cell.c")
CONFIGS = (("linear", 64, 16), ("nonlinear", 64, 16), ("linear", 128, 16), ("linear", 256, 16),
           ("linear", 512, 16), ("linear", 1024, 16))
TARGETS = (("linear", 64, 16), ("nonlinear", 64, 16))  # the issue's: both kinds, and the learner
QUICK_CONFIGS = TARGETS
PEAK_FRACTION, SPEEDUP = 0.40, 3.0
WORK_NS = 2e8  # nanoseconds of work per timed repeat: steps = WORK_NS / (an estimate of ns/step)


def learner_config() -> tuple:
    """(kind, n_hidden, network) of the learner row: rtu-edge train's CartPole-P network, with
    the previous action and reward as inputs (bench_loop.c's)."""
    run = RunConfig(task="cartpole-p", steps=1)
    network = ACNetwork(prev_action=True, prev_reward="normalized")
    return run.kind, run.hidden, network


def cpu_runs_avx2() -> bool:
    """Whether this CPU runs the default install's AVX2 variant (the package's own check,
    rtu_edge_cpu_avx2 of the baseline module)."""
    from rtu_edge import _rtu_f32
    return bool(_rtu_f32.lib.rtu_edge_cpu_avx2())


def build_learner(name: str, c_src: Path, flags: list) -> Path:
    """bench_loop.c with every source of c_src (and the C CartPole-P plant) into
    benchmarks/bin/<name>."""
    core = sorted(c_src.glob("*.c")) + [ROOT / "firmware_examples" / "common" / "cartpole_p.c"]
    return _cprogram.build(ROOT / "benchmarks" / "bench_loop.c", core, name, tuple(flags),
                           include=c_src)[0]


def learner_ns(binary: Path, steps: int, seed: int) -> float:
    """ns per transition (rtu_ac_act + rtu_ac_learn, bench_loop.c) of the learner row."""
    kind, n, net = learner_config()
    cmd = [binary, n, int(kind == "nonlinear"), net.n_embed, net.n_head, steps, seed]
    return 1000.0 * float(_cprogram.output(cmd).split()[1])


def build_cell(name: str, c_src: Path, flags: list) -> Path:
    """bench_cell.c with the cell's sources and headers from c_src into benchmarks/bin/<name>."""
    core = [c_src / source for source in CELL_SOURCES]
    return _cprogram.build(ROOT / "benchmarks" / "bench_cell.c", core, name, tuple(flags),
                           include=c_src)[0]


def cell_ns(binary: Path, kind: str, n: int, d: int, steps: int) -> float:
    """Best ns per step of 3 timed repeats of steps (bench_cell.c)."""
    return _cprogram.run_json([binary, kind, d, n, steps, 3, max(1, steps // 4)])[
        "best_ns_per_step"]


def parse_args(argv: Optional[list]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, metavar="DIR",
                        help="a c_src/ directory of another core to compare at the default flags")
    parser.add_argument("--rounds", type=positive_int, default=5,
                        help="alternating rounds (default 5)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: the target configurations (both kinds and the learner), "
                             "one round")
    args = parser.parse_args(argv)
    if args.baseline is not None and not (args.baseline / "rtu_cell.c").is_file():
        parser.error(f"--baseline {args.baseline}: no rtu_cell.c there (give a c_src/ directory)")
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    return args


def main(argv: Optional[list] = None) -> int:
    args = parse_args(argv)
    rounds = 1 if args.quick else args.rounds
    configs = QUICK_CONFIGS if args.quick else CONFIGS
    builds = dict(_cprogram.BUILD_FLAGS)
    if not cpu_runs_avx2():
        del builds["avx2"]
    programs = {name: build_cell(f"kernel_cell_{name}", ROOT / "c_src", flags)
                for name, flags in builds.items()}
    learners = {name: build_learner(f"kernel_learner_{name}", ROOT / "c_src", flags)
                for name, flags in builds.items()}
    ours = list(builds)  # the builds of this tree, each against the baseline
    if args.baseline is not None:
        programs["baseline"] = build_cell("kernel_cell_baseline", args.baseline.resolve(), [])
        learners["baseline"] = build_learner("kernel_learner_baseline",
                                             args.baseline.resolve(), [])
    probe = _cprogram.peak_probe()
    ceiling_probes = {name: _cprogram.ceiling_probe(name, flags)
                      for name, flags in builds.items() if name != "native"}
    best: dict = {}
    peak = 0.0
    ceilings = {name: 0.0 for name in ceiling_probes}
    reps = 200000 if args.quick else 2000000
    for r in range(rounds):
        peak = max(peak, _cprogram.peak_gflops(probe, reps))
        for name, ceiling_probe in ceiling_probes.items():
            ceilings[name] = max(ceilings[name], _cprogram.peak_gflops(ceiling_probe, reps))
        for kind, n, d in configs:
            for name, binary in programs.items():
                estimate = best.get((kind, n, d, name), 1000.0 * n * d / 1024)
                steps = max(100, int(WORK_NS / estimate / (20 if args.quick else 1)))
                ns = cell_ns(binary, kind, n, d, steps)
                key = (kind, n, d, name)
                best[key] = min(best.get(key, ns), ns)
        for name, binary in learners.items():
            ns = learner_ns(binary, 2000 if args.quick else 20000, r)
            best[("learner", name)] = min(best.get(("learner", name), ns), ns)
        print(f"bench_kernel: round {r + 1}/{rounds} done", file=sys.stderr)
    names = list(programs)
    head = ["kind", "n_hidden", "n_in"] + [f"{p} ns" for p in names] + \
        [f"{p} % of peak" for p in names]
    if "baseline" in programs:
        head += [f"{p} vs baseline" for p in ours]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for kind, n, d in configs:
        flops = flops_per_step(kind, n, d)
        ns = {p: best[(kind, n, d, p)] for p in names}
        row = [kind, str(n), str(d)] + [f"{ns[p]:.0f}" for p in names] + \
            [f"{100 * flops / ns[p] / peak:.1f}" for p in names]
        if "baseline" in programs:
            row += [f"{ns['baseline'] / ns[p]:.2f}x" for p in ours]
        lines.append("| " + " | ".join(row) + " |")
    kind, n, net = learner_config()
    learner_flops = ac_flops_per_step(kind, 2, n, "discrete", 2, net)
    ns = {p: best[("learner", p)] for p in names}
    row = [f"learner ({kind})", str(n), "2"] + [f"{ns[p]:.0f}" for p in names] + \
        [f"{100 * learner_flops / ns[p] / peak:.1f}" for p in names]
    if "baseline" in programs:
        row += [f"{ns['baseline'] / ns[p]:.2f}x" for p in ours]
    lines.append("| " + " | ".join(row) + " |")
    print("\n".join(lines))
    print(f"\n(learner: one transition of the actor-critic on CartPole-P, n_head {net.n_head}, "
          f"the previous action and reward as inputs, {learner_flops} FLOPs by "
          f"rtu_edge.flops.ac_flops_per_step)")
    ceilings["native"] = peak
    print(f"\n(peak {peak:.1f} GFLOP/s float32 FMA, one core, its widest vectors; the ceilings "
          f"of the builds that fuse no multiply-add, a multiply and an add apiece at their "
          f"vectors: " + ", ".join(f"{p} {ceilings[p]:.1f}" for p in ours if p != "native") +
          f" GFLOP/s; {compiler_version()}; CPU: {cpu_model()}; best of {rounds} alternating "
          f"rounds)")
    targets = [(f"n_hidden={n}, n_in={d}, {kind} kind", flops_per_step(kind, n, d),
                {p: best[(kind, n, d, p)] for p in names})
               for kind, n, d in TARGETS if (kind, n, d, "native") in best]
    targets.append(("the learner (CartPole-P network)", learner_flops,
                    {p: best[("learner", p)] for p in names}))
    for what, flops, ns in targets:
        fraction = flops / ns["native"] / peak
        print(f"\nTargets of {what}:")
        print(f"  native build >= {PEAK_FRACTION:.0%} of the peak: {ns['native']:.0f} ns/step, "
              f"{fraction:.1%} -> {'HOLDS' if fraction >= PEAK_FRACTION else 'NOT MET'}")
        if "baseline" in ns:
            for p in ours:
                ratio = ns["baseline"] / ns[p]
                needs = SPEEDUP * flops / ns["baseline"]  # GFLOP/s of a step 3x faster
                print(f"  {p} build >= {SPEEDUP:g}x faster than the baseline at the default "
                      f"flags: {ratio:.2f}x -> {'HOLDS' if ratio >= SPEEDUP else 'NOT MET'} "
                      f"({SPEEDUP:g}x needs {needs:.1f} GFLOP/s, {needs / ceilings[p]:.0%} of "
                      f"this build's ceiling, {ceilings[p]:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
