"""Step-by-step validation of the C core against the numpy reference.

For every kind and activation, a random cell (one seed, so the same parameters on both sides) is
run on a random input sequence by the reference and by the C core, and after every step the
state, the features, every RTRL trace and the gradient from a random dL/dh are compared normwise:
max |C - reference| / max |reference|, per array. The float64 build must agree to 1e-10 over 1000
steps; the float32 build to 1e-4 over 10,000 steps, against a reference run from the float32
cell's own (rounded) parameters, so that the figure measures arithmetic drift and not the rounding
of the initial parameters.

relu has no derivative at 0: where the reference's c_k or d_k lies within the build's tolerance of
0 (relative to the largest state), the C build may stand on the other side of the kink, and unit
k's gradient (nu_log[k], theta_log[k], rows k of w_c and w_d) is left out of that step's comparison
for the linear kind. Such unit-steps are counted in the report (``kink_skips``), never hidden.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import numpy as np

from .cell import RTUCell
from .reference import ACTIVATIONS, KINDS

TOLERANCE = {"float64": 1e-10, "float32": 1e-4}
DEFAULT_STEPS = {"float64": 1000, "float32": 10000}
DRIFT_MARKS = (10, 100, 1000, 10000, 100000)


def normwise(a: np.ndarray, ref: np.ndarray) -> float:
    """max |a - ref| / max |ref| (absolute difference where ref is all zeros)."""
    a, ref = np.asarray(a, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    diff = float(np.max(np.abs(a - ref))) if ref.size else 0.0
    return diff / scale if scale > 0 else diff


class RunDeviation:
    """Normwise deviation of named arrays over a whole run: max_t |a_t - ref_t| / max_t |ref_t|."""

    def __init__(self):
        self.diff: dict[str, float] = {}
        self.scale: dict[str, float] = {}

    def add(self, name: str, a: np.ndarray, ref: np.ndarray) -> None:
        a, ref = np.asarray(a, dtype=np.float64), np.asarray(ref, dtype=np.float64)
        if ref.size:
            self.diff[name] = max(self.diff.get(name, 0.0), float(np.max(np.abs(a - ref))))
            self.scale[name] = max(self.scale.get(name, 0.0), float(np.max(np.abs(ref))))

    def worst(self) -> float:
        return max((d / self.scale[k] if self.scale[k] > 0 else d for k, d in self.diff.items()),
                   default=0.0)


@dataclass
class Report:
    """Largest normwise deviations of one C build from the reference over a run."""

    kind: str
    activation: str
    build: str
    steps: int
    init: float = 0.0
    state: float = 0.0
    features: float = 0.0
    traces: float = 0.0
    gradients: float = 0.0
    kink_skips: int = 0  # unit-steps left out of the gradient comparison (relu at 0)
    drift: dict = field(default_factory=dict)  # step -> largest deviation up to that step

    @property
    def tolerance(self) -> float:
        return TOLERANCE[self.build]

    @property
    def worst(self) -> float:
        return max(self.state, self.features, self.traces, self.gradients)

    @property
    def passed(self) -> bool:
        return self.init == 0.0 and self.worst <= self.tolerance


def validate_cell(kind: str, activation: str, dtype, steps: int, seed: int = 0, n_in: int = 7,
                  n_hidden: int = 13) -> Report:
    """Run the C build ``dtype`` and the reference side by side for ``steps`` steps."""
    build = np.dtype(dtype).name
    c_cell = RTUCell(n_in, n_hidden, kind, activation, seed=seed, backend="c", dtype=dtype)
    ref = RTUCell(n_in, n_hidden, kind, activation, seed=seed, backend="reference")
    report = Report(kind, activation, build, steps)
    # the same seed must give the same cell: bit-identical in float64, correctly rounded in float32
    report.init = max(normwise(c_cell.params[k], ref.params[k].astype(dtype))
                      for k in ref.params)
    ref.set_params({k: v.astype(np.float64) for k, v in c_cell.params.items()})

    rng = np.random.default_rng(seed + 1)
    xs = rng.normal(size=(steps, n_in)).astype(dtype)
    dhs = rng.normal(size=(steps, 2 * n_hidden)).astype(dtype)
    h_c = np.empty(2 * n_hidden, dtype=dtype)
    dev = {q: RunDeviation() for q in ("state", "features", "traces", "gradients")}
    for t in range(steps):
        c_cell.step(xs[t], out=h_c)
        dev["features"].add("h", h_c, ref.step(xs[t]))
        s_c, s_ref = c_cell.state, ref.state
        for group, c_arrays, ref_arrays in (("state", s_c, s_ref),
                                            ("traces", c_cell.traces, ref.traces)):
            for k in ref_arrays:
                dev[group].add(k, c_arrays[k], ref_arrays[k])
        g_c, g_ref = c_cell.gradient(dhs[t]), ref.gradient(dhs[t])
        keep = np.ones(n_hidden, dtype=bool)
        if kind == "linear" and activation == "relu":
            band = report.tolerance * max(np.max(np.abs(s_ref["c"])), np.max(np.abs(s_ref["d"])))
            keep = (np.abs(s_ref["c"]) > band) & (np.abs(s_ref["d"]) > band)
            report.kink_skips += int(n_hidden - keep.sum())
        for k in g_ref:
            dev["gradients"].add(k, g_c[k][keep], g_ref[k][keep])
        if t + 1 in DRIFT_MARKS or t + 1 == steps:
            report.drift[t + 1] = max(d.worst() for d in dev.values())
    for quantity, d in dev.items():
        setattr(report, quantity, d.worst())
    return report


def run_all(steps_f64: int, steps_f32: int, seed: int, n_in: int, n_hidden: int,
            progress=None) -> list[Report]:
    reports = []
    for kind in KINDS:
        for activation in ACTIVATIONS:
            for dtype, steps in ((np.float64, steps_f64), (np.float32, steps_f32)):
                reports.append(validate_cell(kind, activation, dtype, steps, seed, n_in,
                                             n_hidden))
                if progress is not None:
                    progress(reports[-1])
    return reports


def format_table(reports: list[Report]) -> str:
    head = (f"{'kind':<10} {'activation':<9} {'build':<8} {'steps':>6} {'init':>8} "
            f"{'state':>8} {'features':>8} {'traces':>8} {'gradient':>8} {'kink':>5} {'tol':>6}"
            "  result")
    lines = [head, "-" * len(head)]
    for r in reports:
        lines.append(f"{r.kind:<10} {r.activation:<9} {r.build:<8} {r.steps:>6} {r.init:8.1e} "
                     f"{r.state:8.1e} {r.features:8.1e} {r.traces:8.1e} {r.gradients:8.1e} "
                     f"{r.kink_skips:5d} {r.tolerance:6.0e}  {'PASS' if r.passed else 'FAIL'}")
    marks = sorted({m for r in reports if r.build == "float32" for m in r.drift})
    if marks:
        lines += ["kink: unit-steps whose gradient was left out because a relu input lay within "
                  "the tolerance of 0", "", "float32 drift: largest deviation (state, features, traces, gradients) "
                  "over the steps up to", f"{'kind':<10} {'activation':<9} " +
                  " ".join(f"{m:>9}" for m in marks)]
        for r in reports:
            if r.build == "float32":
                lines.append(f"{r.kind:<10} {r.activation:<9} " + " ".join(
                    f"{r.drift[m]:9.1e}" if m in r.drift else f"{'':>9}" for m in marks))
    return "\n".join(lines)


def main(args) -> int:
    print(f"rtu-edge validate: C core vs numpy reference, n_in={args.n_in}, "
          f"n_hidden={args.n_hidden}, seed={args.seed}; deviation = max|C - ref| / max|ref| "
          "over all steps, per array", flush=True)
    reports = run_all(args.steps_f64, args.steps_f32, args.seed, args.n_in, args.n_hidden,
                      progress=lambda r: print(".", end="", flush=True))
    print()
    print(format_table(reports))
    failed = [r for r in reports if not r.passed]
    print(f"\n{len(reports) - len(failed)} passed, {len(failed)} failed")
    if args.json:
        with open(args.json, "w") as f:
            json.dump([dict(asdict(r), passed=r.passed, tolerance=r.tolerance) for r in reports],
                      f, indent=1)
    return 1 if failed else 0
