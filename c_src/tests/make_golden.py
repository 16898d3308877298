#!/usr/bin/env python3
"""Write c_src/tests/golden.h: the expected values of the C unit tests, computed by the numpy
float64 reference (rtu_edge/reference) and the independent Python checkpoint codec (tests/ckpt_codec.py),
never by the C code they check.

    python c_src/tests/make_golden.py              # rewrites c_src/tests/golden.h
    python c_src/tests/make_golden.py --out FILE   # writes elsewhere (the up-to-date test)

Every run is small (n_in 3, n_hidden 4; the actor-critic on 2 observations) and its inputs come
from the project's PCG32 generator (Prng here, rtu_prng in C), so the C tests rebuild the same
inputs from a seed instead of reading them from the header. The synthetic sequences are defined once, here, and the C tests repeat them
line for line (c_src/tests/fixtures.c):

  cell:  per step, x[j] = 2 u - 1 (n_in draws), then dh[j] = 2 u - 1 (2n draws), u = uniform()
  TD:    x = [t % 10 == 0, u < 0.2, 1], cumulant = [t % 10 == 6] (one draw per step)
  AC:    obs = [2 u1 - 1, u2 < 0.25] (two draws per observation); obs_0, then obs_{t+1} after the
         action of step t; reward of step t from (action, obs_t): discrete, 1 if the action is the
         bin of obs_t[0] among A equal bins of [-1, 1], else 0; continuous, -sum_i (a_i - obs_t[0])^2;
         an episode ends after every EPISODE steps, terminated at odd multiples, truncated at even
         ones; the next act always gets obs_{t+1}

The actor-critic cases cover the streaming network's shapes: separate and shared trunks, with and
without an input layer and a head layer, previous action and reward on and off, the memoryless
baseline, discrete and continuous actions, linear, nonlinear and LRU cells.

The TD and actor-critic cases are checked to be well-conditioned: rerun from their initial
parameters rounded to float32, the reference moves by at most 1e-5 (normwise), so the float
build's tolerance of 1e-4 measures float32 arithmetic, not a chaotic amplification of it. A case
that fails this stops the generator.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import pathlib
import sys
import zlib

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import ckpt_codec as checkpoint  # noqa: E402 (the independent Python codec, not the C one)
from rtu_edge.reference.ac import AC  # noqa: E402
from rtu_edge.reference.cell import ACTIVATIONS, KINDS, Cell, cell_params, cell_reals  # noqa: E402
from rtu_edge.reference.prng import Prng  # noqa: E402
from rtu_edge.reference.config import OPTIMIZERS, ACConfig, ACNetwork  # noqa: E402
from rtu_edge.reference.td import TD, TDConfig  # noqa: E402

N_IN, N_HIDDEN = 3, 4
CELL_STEPS, GRAD_EVERY = 50, 5
TD_STEPS, TD_MARKS = 300, (100, 200, 300)
AC_STEPS, AC_MID, AC_EPISODE = 200, 100, 50
CKPT_STEP = 120  # the Python-written checkpoints are taken after this many steps
ACTION_KINDS = ("discrete", "continuous")

TD_CASES = [  # kind, activation, optimizer, alpha, kappa, gamma, lambda
    ("linear", "tanh", "obgd", 1.0, 2.0, 0.9, 0.9),
    ("nonlinear", "relu", "obgd", 1.0, 2.0, 0.9, 0.9),
    ("linear", "identity", "sgd", 0.01, 2.0, 0.8, 0.8),
    ("nonlinear", "tanh", "sgd", 0.01, 2.0, 0.8, 0.9),
    ("lru", "tanh", "obgd", 1.0, 2.0, 0.9, 0.9),
    ("lru", "relu", "sgd", 0.01, 2.0, 0.8, 0.9),
]
TD_CKPT_CASE = 1
AC_N_OBS = 2


def net(**fields) -> ACNetwork:
    """A case's network: the previous action and reward are inputs unless the case says not (the
    cases do not follow ACNetwork's defaults, so that a change of those leaves them as they are)."""
    return ACNetwork(**{"prev_action": True, "prev_reward": "normalized", **fields})


AC_CASES = [  # kind, activation, action kind, A, network, config
    ("nonlinear", "tanh", "discrete", 3, net(n_embed=3, n_head=5),
     ACConfig(phase_step_scale=0.25)),
    ("linear", "relu", "discrete", 2,
     net(n_embed=0, n_head=0, shared=True, prev_action=False, prev_reward="none"),
     ACConfig(normalize_obs=False, entropy_coef=0.05)),
    ("nonlinear", "tanh", "continuous", 2, net(n_embed=3, n_head=0, shared=True),
     ACConfig(std_min=0.05, std_max=1.5, phase_step_scale=0.5)),
    ("linear", "identity", "continuous", 1, net(n_embed=0, n_head=5, prev_reward="none"),
     ACConfig(optimizer="sgd", alpha=0.003, scale_reward=False)),
    ("linear", "tanh", "discrete", 2,
     net(n_embed=3, n_head=3, prev_action=False, prev_reward="none", memoryless=True),
     ACConfig(sparsity=0.5)),
    ("lru", "tanh", "discrete", 3, net(n_embed=3, n_head=5), ACConfig(phase_step_scale=0.0)),
    ("lru", "identity", "continuous", 2, net(n_embed=0, n_head=0, shared=True),
     ACConfig(std_min=0.05, std_max=1.5)),
    ("nonlinear", "relu", "discrete", 3, net(n_embed=0, n_head=4, memoryless=True), ACConfig()),
]
AC_CKPT_CASES = (0, 2, 3, 5, 6)
SIZE_CASES = [("linear", 3, 4), ("nonlinear", 3, 4), ("linear", 16, 64), ("nonlinear", 16, 64),
              ("nonlinear", 1, 1), ("linear", 7, 13), ("lru", 3, 4), ("lru", 16, 64),
              ("lru", 1, 1), ("lru", 7, 13)]
AC_SIZE_CASES = [  # kind, n_obs, n_hidden, action kind, A, network
    ("linear", 3, 4, "discrete", 3, net(n_embed=0, n_head=0, prev_action=False,
                                        prev_reward="none")),
    ("nonlinear", 3, 4, "continuous", 2, net(n_embed=5, n_head=6)),
    ("nonlinear", 2, 32, "discrete", 2, net(n_embed=16, n_head=16, shared=True)),
    ("linear", 5, 8, "continuous", 1, net(n_embed=0, n_head=7, prev_reward="none")),
    ("nonlinear", 4, 6, "discrete", 4, net(n_embed=9, n_head=0, shared=True,
                                           prev_action=False)),
    ("linear", 1, 3, "continuous", 3, net(n_embed=2, n_head=2, prev_action=False,
                                          prev_reward="none", memoryless=True)),
    ("lru", 2, 32, "discrete", 2, net(n_embed=16, n_head=16)),
    ("lru", 3, 5, "continuous", 2, net(n_embed=0, n_head=4, shared=True)),
]
PRNG_SEEDS = [0, 1, 42, 2**64 - 1]
PRNG_U32 = 8
CONDITIONING_LIMIT = 1e-5


def cell_seed(i): return 11 + i
def cell_input_seed(i): return 101 + i
def td_seed(i): return 21 + i
def td_input_seed(i): return 201 + i
def ac_seed(i): return 31 + i
def ac_env_seed(i): return 301 + i


# -- the synthetic sequences (repeated in the C tests) ---------------------------------------------

def td_input(rng: Prng, t: int):
    x = [1.0 if t % 10 == 0 else 0.0, 1.0 if rng.uniform() < 0.2 else 0.0, 1.0]
    return np.array(x), (1.0 if t % 10 == 6 else 0.0)


def ac_observe(rng: Prng) -> np.ndarray:
    a = 2.0 * rng.uniform() - 1.0
    b = 1.0 if rng.uniform() < 0.25 else 0.0
    return np.array([a, b])


def ac_reward(action_kind: str, n_actions: int, action: np.ndarray, obs: np.ndarray) -> float:
    if action_kind == "discrete":
        target = min(n_actions - 1, int(math.floor((obs[0] + 1.0) / 2.0 * n_actions)))
        return 1.0 if int(action[0]) == target else 0.0
    return -float(sum((float(a) - obs[0]) ** 2 for a in action))


def ac_episode_end(t: int):
    """(terminated, truncated) of the learn of step t (0-based)."""
    if (t + 1) % AC_EPISODE:
        return False, False
    odd = ((t + 1) // AC_EPISODE) % 2 == 1
    return odd, not odd


# -- the runs -------------------------------------------------------------------------------------

def cell_run(i: int, kind: str, activation: str) -> dict:
    cell = Cell(kind, activation, N_IN, N_HIDDEN)
    cell.init_params(Prng(cell_seed(i)), 0.0, 1.0, 6.28)
    params = cell.params.copy()
    rng = Prng(cell_input_seed(i))
    hs, grads = [], []
    for t in range(CELL_STEPS):
        x = np.array([2.0 * rng.uniform() - 1.0 for _ in range(N_IN)])
        dh = np.array([2.0 * rng.uniform() - 1.0 for _ in range(2 * N_HIDDEN)])
        hs.append(cell.step(x))
        if (t + 1) % GRAD_EVERY == 0:
            grads.append(cell.gradient(dh))
    # as the C cell holds them: the weight traces input-major
    traces = np.concatenate([(v.T if v.ndim == 2 else v).reshape(-1)
                             for v in cell.traces().values()])
    return {"params": params, "h": np.concatenate(hs), "grad": np.concatenate(grads),
            "state": np.concatenate([cell.c, cell.d]), "traces": traces}


def round_params(cell: Cell) -> None:
    """Start from the float32 rounding of the initial parameters (the conditioning check)."""
    cell.set_params(cell.params.astype(np.float32).astype(np.float64))


def ac_trunks(ac: AC) -> list:
    return [trunk for trunk in ac.trunk if trunk is not None]


def round_ac_params(ac: AC) -> None:
    """round_params for every layer of the actor-critic's networks."""
    for params in [trunk.params for trunk in ac_trunks(ac)] + [head.params for head in ac.head]:
        params[:] = params.astype(np.float32).astype(np.float64)
    for trunk in ac_trunks(ac):
        trunk.cell.refresh()


def ac_params(ac: AC) -> np.ndarray:
    """Every parameter: each trunk's (input layer, cell), then the critic's and the actor's head
    (fix_ac_params in C)."""
    return np.concatenate([trunk.params for trunk in ac_trunks(ac)] +
                          [head.params for head in ac.head])


def td_run(i: int, case, rounded: bool = False) -> dict:
    kind, activation, optimizer, alpha, kappa, gamma, lambda_ = case
    td = TD(kind, activation, N_IN, N_HIDDEN, TDConfig(gamma, lambda_, alpha, kappa, optimizer),
            Prng(td_seed(i)))
    if rounded:
        round_params(td.cell)
    rng = Prng(td_input_seed(i))
    predictions, marks, ckpt = [], [], {}
    for t in range(TD_STEPS):
        x, c = td_input(rng, t)
        predictions.append(td.step(x, c))
        if t + 1 in TD_MARKS:
            marks.append(np.concatenate([td.cell.params, td.head]))
        if t + 1 == CKPT_STEP:
            ref = checkpoint.from_reference(td)
            for precision in (4, 8):
                ckpt[precision] = checkpoint.encode(dataclasses.replace(ref, precision=precision))
                checkpoint.decode(ckpt[precision])  # what rtu_td_load would accept
    return {"predictions": np.array(predictions), "params": np.concatenate(marks),
            "z": td.z.copy(), "ckpt": ckpt}


def ac_run(i: int, case, rounded: bool = False) -> dict:
    kind, activation, action_kind, n_actions, network, config = case
    ac = AC(kind, activation, AC_N_OBS, N_HIDDEN, action_kind, n_actions, config, ac_seed(i),
            network)
    if rounded:
        round_ac_params(ac)
    rng = Prng(ac_env_seed(i))
    obs = ac_observe(rng)
    actions, values, mid, ckpt = [], [], None, {}
    for t in range(AC_STEPS):
        action = ac.act(obs)
        values.append(ac.value())
        actions.extend(float(a) for a in action)
        reward = ac_reward(action_kind, n_actions, action, obs)
        next_obs = ac_observe(rng)
        terminated, truncated = ac_episode_end(t)
        ac.learn(reward, next_obs, terminated, truncated)
        obs = next_obs
        if t + 1 == AC_MID:
            mid = ac_params(ac)
        if t + 1 == CKPT_STEP:
            ref = checkpoint.from_reference_ac(ac)
            for precision in (4, 8):
                ckpt[precision] = checkpoint.encode_ac(
                    dataclasses.replace(ref, precision=precision))
                checkpoint.decode_ac(ckpt[precision])
    end = ac_params(ac)
    stats = np.concatenate([ac.obs_mean, ac.obs_m2,
                            [ac.ret_trace, float(ac.ret_mean[0]), float(ac.ret_m2[0]),
                             float(ac.reward_mean[0]), float(ac.reward_m2[0])]])
    return {"actions": np.array(actions), "values": np.array(values), "mid": mid, "end": end,
            "stats": stats, "episodes": ac.episodes, "ckpt": ckpt}


def normwise(a, ref) -> float:
    a, ref = np.asarray(a, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    scale = float(np.max(np.abs(ref)))
    diff = float(np.max(np.abs(a - ref)))
    return diff / scale if scale > 0 else diff


def conditioning(name: str, run, rounded_run, keys) -> float:
    """How far a run moves when its initial parameters are rounded to float32 (the float build's
    starting point): the golden runs must be well-conditioned, so that the float build's 1e-4
    measures rounding and not a chaotic amplification of it. Refuses a case above 1e-5."""
    worst = max(normwise(rounded_run[k], run[k]) for k in keys)
    if worst > CONDITIONING_LIMIT:
        raise SystemExit(f"{name} is ill-conditioned: float32 rounding of its initial parameters "
                         f"moves it by {worst:.1e} (limit {CONDITIONING_LIMIT:g}); pick another "
                         "case")
    return worst


def td_reals(kind, n_in, n_hidden) -> int:
    """Reals of a TD learner's buffer, from the reference learner's own arrays."""
    td = TD(kind, "relu", n_in, n_hidden, TDConfig(0.9, 0.9, 1.0), Prng(0))
    return cell_reals(kind, n_in, n_hidden) + td.head.size + td.z.size + td.grad.size


def ac_reals(kind, n_obs, n_hidden, action_kind, n_actions, network) -> int:
    """Reals of an actor-critic's buffer, from the reference learner's own arrays."""
    ac = AC(kind, "relu", n_obs, n_hidden, action_kind, n_actions, ACConfig(), 0, network)
    arrays = [ac.z_v, ac.z_pi, ac.peek, ac.grad, ac.pi, ac.x, ac.x_next, ac.obs_mean, ac.obs_m2,
              ac.obs_last, ac.action]
    for trunk in ac_trunks(ac):
        arrays += [trunk.embed if trunk.n_embed else np.zeros(0), trunk.e_hat, trunk.e]
    for head in ac.head:
        arrays += [head.params, head.q_hat, head.q, head.out]
    return (sum(cell_reals(kind, trunk.cell.n_in, n_hidden) for trunk in ac_trunks(ac)) +
            sum(a.size for a in arrays))


# -- writing C ------------------------------------------------------------------------------------

class Writer:
    def __init__(self):
        self.decl: list[str] = []  # extern declarations and macros
        self.defs: list[str] = []  # definitions (in the GOLDEN_DEFINE section)

    @staticmethod
    def _rows(items, per_row):
        return ",\n".join("    " + ", ".join(items[i:i + per_row])
                          for i in range(0, len(items), per_row))

    def doubles(self, name: str, values) -> str:
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        items = [repr(float(v)) for v in values]
        self.defs.append(f"static const double {name}[{len(items)}] = {{\n"
                         f"{self._rows(items, 5)}\n}};")
        return name

    def bytes_(self, name: str, data: bytes) -> str:
        items = [str(b) for b in data]
        self.defs.append(f"static const unsigned char {name}[{len(items)}] = {{\n"
                         f"{self._rows(items, 20)}\n}};")
        return name


def c_bool(v) -> str:
    return "1" if v else "0"


def config_fields(cfg) -> str:
    """A case's config, as golden.h's struct holds it: the reals of rtu_config.h's list, the
    optimizer, the flags."""
    reals, flags = cfg.c_lists()
    return ", ".join([repr(getattr(cfg, f.name)) for f in reals] +
                     [str(OPTIMIZERS.index(cfg.optimizer))] +
                     [c_bool(getattr(cfg, f.name)) for f in flags])


def shape_fields(kind: str, activation: str, n_obs: int, n_hidden: int, net: ACNetwork,
                 action_kind: str, n_actions: int) -> str:
    """A golden_ac_shape (rtu_ac_shape's fields in its order) as a C initialiser."""
    return (f"{{{KINDS.index(kind)}, {ACTIVATIONS.index(activation)}, {n_obs}, {n_hidden}, "
            f"{net.n_embed}, {net.n_head}, {c_bool(net.shared)}, {c_bool(net.prev_action)}, "
            f"{net.reward_input}, {c_bool(net.memoryless)}, "
            f"{ACTION_KINDS.index(action_kind)}, {n_actions}}}")


def generate() -> str:
    w = Writer()
    out = []

    # PRNG
    rows = []
    for seed in PRNG_SEEDS:
        rng = Prng(seed)
        rows.append("    {" + f"{seed}u, " + "{" +
                    ", ".join(f"{rng.next_u32()}u" for _ in range(PRNG_U32)) + "}}")
    prng_u32 = ",\n".join(rows)
    rng = Prng(7)
    uniforms = [rng.uniform() for _ in range(4)]
    normals = [rng.normal() for _ in range(4)]
    seeded = Prng(42)
    w.doubles("golden_prng7_uniform_data", uniforms)
    w.doubles("golden_prng7_normal_data", normals)

    # sizes
    size_rows = []
    for kind, n_in, n_hidden in SIZE_CASES:
        size_rows.append(
            f"    {{{KINDS.index(kind)}, {n_in}, {n_hidden}, {cell_reals(kind, n_in, n_hidden)}, "
            f"{cell_params(kind, n_in, n_hidden)}, {td_reals(kind, n_in, n_hidden)}, "
            f"{checkpoint.td_checkpoint_bytes(kind, n_in, n_hidden, 4)}, "
            f"{checkpoint.td_checkpoint_bytes(kind, n_in, n_hidden, 8)}}}")
    ac_size_rows = []
    for kind, n_obs, n_hidden, action_kind, n_actions, net in AC_SIZE_CASES:
        ckpt = [checkpoint.ac_checkpoint_bytes(kind, n_obs, n_hidden, net, action_kind, n_actions,
                                               precision) for precision in (4, 8)]
        ac_size_rows.append(
            f"    {{{shape_fields(kind, 'tanh', n_obs, n_hidden, net, action_kind, n_actions)}, "
            f"{ac_reals(kind, n_obs, n_hidden, action_kind, n_actions, net)}, "
            f"{ckpt[0]}, {ckpt[1]}}}")

    # cell
    cell_rows = []
    i = 0
    for kind in KINDS:
        for activation in ACTIVATIONS:
            r = cell_run(i, kind, activation)
            names = [w.doubles(f"golden_cell{i}_{k}", r[k])
                     for k in ("params", "h", "grad", "state", "traces")]
            cell_rows.append(f"    {{{KINDS.index(kind)}, {ACTIVATIONS.index(activation)}, "
                             f"{cell_params(kind, N_IN, N_HIDDEN)}u, {cell_seed(i)}u, "
                             f"{cell_input_seed(i)}u, " + ", ".join(names) + "}")
            i += 1

    # TD
    td_rows = []
    for i, case in enumerate(TD_CASES):
        kind, activation, optimizer, alpha, kappa, gamma, lambda_ = case
        r = td_run(i, case)
        conditioning(f"TD case {i}", r, td_run(i, case, rounded=True),
                     ("predictions", "params", "z"))
        names = [w.doubles(f"golden_td{i}_{k}", r[k]) for k in ("predictions", "params", "z")]
        td_rows.append(f"    {{{KINDS.index(kind)}, {ACTIVATIONS.index(activation)}, "
                       f"{config_fields(TDConfig(gamma, lambda_, alpha, kappa, optimizer))}, "
                       f"{td_seed(i)}u, {td_input_seed(i)}u, " + ", ".join(names) + "}")
        if i == TD_CKPT_CASE:
            w.bytes_("golden_td_ckpt_f32_data", r["ckpt"][4])
            w.bytes_("golden_td_ckpt_f64_data", r["ckpt"][8])

    # AC
    ac_rows, ac_ckpt_rows = [], []
    for i, case in enumerate(AC_CASES):
        kind, activation, action_kind, n_actions, net, cfg = case
        r = ac_run(i, case)
        conditioning(f"AC case {i}", r, ac_run(i, case, rounded=True),
                     ("actions", "values", "mid", "end", "stats"))
        names = [w.doubles(f"golden_ac{i}_{k}", r[k])
                 for k in ("actions", "values", "mid", "end", "stats")]
        shape = shape_fields(kind, activation, AC_N_OBS, N_HIDDEN, net, action_kind, n_actions)
        ac_rows.append(
            f"    {{{shape}, {config_fields(cfg)}, {ac_seed(i)}u, {ac_env_seed(i)}u, "
            f"{r['episodes']}u, {r['end'].size}u, " + ", ".join(names) + "}")
        if i in AC_CKPT_CASES:
            f32 = w.bytes_(f"golden_ac{i}_ckpt_f32", r["ckpt"][4])
            f64 = w.bytes_(f"golden_ac{i}_ckpt_f64", r["ckpt"][8])
            ac_ckpt_rows.append(f"    {{{i}, {f32}, sizeof {f32}, {f64}, sizeof {f64}}}")

    crc_data = bytes((7 * k + 3) & 0xFF for k in range(1000))
    J = ",\n"
    crc_rows = (f"    {{0u, {zlib.crc32(b'')}u}},\n    {{9u, {zlib.crc32(b'123456789')}u}},\n"
                f"    {{1000u, {zlib.crc32(crc_data)}u}}")

    out.append(f'''/*
 * GENERATED by c_src/tests/make_golden.py from the numpy float64 reference (rtu_edge/reference)
 * and the independent Python checkpoint codec (tests/ckpt_codec.py): the expected values of the C unit
 * tests, not computed by the C code they check. Do not edit; regenerate with
 *     python c_src/tests/make_golden.py
 * (tests/test_c_targets.py checks that this file is up to date). The synthetic input sequences are
 * described in make_golden.py and rebuilt by the tests from the seeds below.
 *
 * Include with GOLDEN_DEFINE defined in exactly one file (golden.c) for the data; elsewhere this
 * header declares it.
 */
#ifndef GOLDEN_H
#define GOLDEN_H

#include <stddef.h>
#include <stdint.h>

#include "rtu_config.h" /* the configs' fields, which the cases below hold in their order */

/* members of a case for each entry of rtu_config.h's lists */
#define GOLDEN_REAL_MEMBER(name, value, rule, obgd_only) double name;
#define GOLDEN_FLAG_MEMBER(name, value) int name;

#define GOLDEN_N_IN {N_IN}
#define GOLDEN_N_HIDDEN {N_HIDDEN}
#define GOLDEN_MAX_PARAMS {max(cell_params(kind, N_IN, N_HIDDEN) for kind in KINDS)}
#define GOLDEN_KIND_NAMES {{{", ".join(f'"{kind}"' for kind in KINDS)}}}
#define GOLDEN_ACTIVATION_NAMES {{{", ".join(f'"{a}"' for a in ACTIVATIONS)}}}
#define GOLDEN_CELL_STEPS {CELL_STEPS}
#define GOLDEN_GRAD_EVERY {GRAD_EVERY}
#define GOLDEN_CELL_CASES {len(KINDS) * len(ACTIVATIONS)}
#define GOLDEN_TD_STEPS {TD_STEPS}
#define GOLDEN_TD_MARK_EVERY {TD_MARKS[0]}
#define GOLDEN_TD_MARKS {len(TD_MARKS)}
#define GOLDEN_TD_CASES {len(TD_CASES)}
#define GOLDEN_TD_CKPT_CASE {TD_CKPT_CASE}
#define GOLDEN_AC_N_IN {AC_N_OBS}
#define GOLDEN_AC_STEPS {AC_STEPS}
#define GOLDEN_AC_MID {AC_MID}
#define GOLDEN_AC_EPISODE {AC_EPISODE}
#define GOLDEN_AC_CASES {len(AC_CASES)}
#define GOLDEN_AC_CKPT_CASES {len(AC_CKPT_CASES)}
#define GOLDEN_CKPT_STEP {CKPT_STEP}
#define GOLDEN_PRNG_SEEDS {len(PRNG_SEEDS)}
#define GOLDEN_PRNG_U32 {PRNG_U32}
#define GOLDEN_PRNG42_STATE {seeded.state}u
#define GOLDEN_PRNG42_INC {seeded.inc}u
#define GOLDEN_SIZE_CASES {len(SIZE_CASES)}
#define GOLDEN_AC_SIZE_CASES {len(AC_SIZE_CASES)}
#define GOLDEN_CRC_CASES 3

typedef struct {{
    uint64_t seed;
    uint32_t u32[GOLDEN_PRNG_U32]; /* the first draws of rtu_prng_next_u32 after seeding */
}} golden_prng_case;

typedef struct {{ /* per cell configuration: reals (RTU_CELL_REALS), params, TD reals, and the
                    * TD checkpoint bytes in float and double */
    int kind;
    unsigned n_in, n_hidden;
    unsigned long cell_reals, cell_params, td_reals, td_ckpt_f32, td_ckpt_f64;
}} golden_size_case;

typedef struct {{ /* an actor-critic's shape: the fields of rtu_ac_shape, in its order */
    int kind, activation;
    unsigned n_obs, n_hidden, n_embed, n_head;
    int shared, prev_action, prev_reward, memoryless;
    int action_kind;
    unsigned n_actions;
}} golden_ac_shape;

typedef struct {{ /* an actor-critic's shape: reals of its buffer, and the bytes of its checkpoint
                    * in float and double */
    golden_ac_shape shape;
    unsigned long ac_reals, ac_ckpt_f32, ac_ckpt_f64;
}} golden_ac_size_case;

typedef struct {{ /* a cell (N_IN, N_HIDDEN) initialised from seed, run on CELL_STEPS inputs */
    int kind, activation;
    unsigned n_params;    /* its parameters (at most GOLDEN_MAX_PARAMS) */
    uint64_t seed, input_seed;
    const double *params; /* after rtu_cell_init_params(seed, 0, 1, 6.28): n_params */
    const double *h;      /* features of every step: CELL_STEPS x 2n */
    const double *grad;   /* gradient from that step's dh after every GRAD_EVERY-th step
                             (n_params each) */
    const double *state;  /* c, d after the last step */
    const double *traces; /* dc_dnu, dd_dnu, dc_dtheta, dd_dtheta, dc_dwc, dd_dwc
                             (, dc_dwd, dd_dwd) after the last step */
}} golden_cell_case;

typedef struct {{ /* a TD learner run for TD_STEPS steps */
    int kind, activation;
    RTU_TD_CONFIG_REALS(GOLDEN_REAL_MEMBER)
    int optimizer;
    uint64_t seed, input_seed;
    const double *predictions; /* TD_STEPS */
    const double *params;      /* cell params then head (w, b) after 100, 200 and 300 steps */
    const double *z;           /* eligibility traces after the last step */
}} golden_td_case;

typedef struct {{ /* an actor-critic (GOLDEN_AC_N_IN observations) run for AC_STEPS steps */
    golden_ac_shape shape;
    RTU_AC_CONFIG_REALS(GOLDEN_REAL_MEMBER)
    int optimizer;
    RTU_AC_CONFIG_FLAGS(GOLDEN_FLAG_MEMBER)
    uint64_t seed, env_seed;
    unsigned episodes;     /* episodes ended after AC_STEPS */
    unsigned n_params;     /* of mid and end */
    const double *actions; /* every step's action: AC_STEPS x (1 discrete, A continuous) */
    const double *values;  /* v(s_t) after each act */
    const double *mid;     /* every parameter after AC_MID steps: each trunk's (input layer,
                              cell), the critic's head, the actor's head */
    const double *end;     /* the same after AC_STEPS steps */
    const double *stats;   /* obs_mean, obs_m2, ret_trace, ret_mean, ret_m2, reward_mean,
                              reward_m2 at the end */
}} golden_ac_case;

typedef struct {{ /* the Python-written checkpoint of an AC case after CKPT_STEP steps */
    int ac_case;
    const unsigned char *f32;
    size_t f32_bytes;
    const unsigned char *f64;
    size_t f64_bytes;
}} golden_ac_ckpt;

typedef struct {{
    size_t bytes; /* of the pattern (7 k + 3) mod 256, k = 0, 1, ..; or "123456789" for 9 */
    uint32_t crc; /* zlib.crc32 */
}} golden_crc_case;

extern const golden_prng_case golden_prng_cases[GOLDEN_PRNG_SEEDS];
extern const double *const golden_prng7_uniform; /* 4 uniforms, then 4 normals, from seed 7 */
extern const double *const golden_prng7_normal;
extern const golden_size_case golden_size_cases[GOLDEN_SIZE_CASES];
extern const golden_ac_size_case golden_ac_size_cases[GOLDEN_AC_SIZE_CASES];
extern const golden_cell_case golden_cell_cases[GOLDEN_CELL_CASES];
extern const golden_td_case golden_td_cases[GOLDEN_TD_CASES];
extern const golden_ac_case golden_ac_cases[GOLDEN_AC_CASES];
extern const golden_ac_ckpt golden_ac_ckpts[GOLDEN_AC_CKPT_CASES];
/* the TD checkpoint of TD case TD_CKPT_CASE after CKPT_STEP steps, in float and in double */
extern const unsigned char *const golden_td_ckpt_f32;
extern const size_t golden_td_ckpt_f32_bytes;
extern const unsigned char *const golden_td_ckpt_f64;
extern const size_t golden_td_ckpt_f64_bytes;
extern const golden_crc_case golden_crc_cases[GOLDEN_CRC_CASES];

#ifdef GOLDEN_DEFINE

''')
    out.append("\n\n".join(w.defs))
    out.append(f'''

const golden_prng_case golden_prng_cases[GOLDEN_PRNG_SEEDS] = {{
{prng_u32}
}};
const double *const golden_prng7_uniform = golden_prng7_uniform_data;
const double *const golden_prng7_normal = golden_prng7_normal_data;

const golden_size_case golden_size_cases[GOLDEN_SIZE_CASES] = {{
{J.join(size_rows)}
}};

const golden_ac_size_case golden_ac_size_cases[GOLDEN_AC_SIZE_CASES] = {{
{J.join(ac_size_rows)}
}};

const golden_cell_case golden_cell_cases[GOLDEN_CELL_CASES] = {{
{J.join(cell_rows)}
}};

const golden_td_case golden_td_cases[GOLDEN_TD_CASES] = {{
{J.join(td_rows)}
}};

const golden_ac_case golden_ac_cases[GOLDEN_AC_CASES] = {{
{J.join(ac_rows)}
}};

const golden_ac_ckpt golden_ac_ckpts[GOLDEN_AC_CKPT_CASES] = {{
{J.join(ac_ckpt_rows)}
}};

const unsigned char *const golden_td_ckpt_f32 = golden_td_ckpt_f32_data;
const size_t golden_td_ckpt_f32_bytes = sizeof golden_td_ckpt_f32_data;
const unsigned char *const golden_td_ckpt_f64 = golden_td_ckpt_f64_data;
const size_t golden_td_ckpt_f64_bytes = sizeof golden_td_ckpt_f64_data;

const golden_crc_case golden_crc_cases[GOLDEN_CRC_CASES] = {{
{crc_rows}
}};

#endif /* GOLDEN_DEFINE */

#endif /* GOLDEN_H */
''')
    return "".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=HERE / "golden.h")
    args = parser.parse_args(argv)
    text = generate()
    args.out.write_text(text)
    print(f"wrote {args.out} ({len(text.encode())} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
