"""Firmware examples: the shared CartPole-p plant (firmware_examples/common) and the Raspberry Pi
example (firmware_examples/raspberry_pi)."""
import math
import pathlib
import shutil
import subprocess

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
C_SRC = ROOT / "c_src"
COMMON = ROOT / "firmware_examples" / "common"
PI_DIR = ROOT / "firmware_examples" / "raspberry_pi"

# ------------------------------------------------------------------------------------------------
# The plant against gymnasium

PLANT_DRIVER = r"""
#include <stdio.h>
#include "cartpole_p.h"
/* stdin lines: "S x x_dot theta theta_dot" starts from a state; "A k" steps with action k and
 * prints the state, terminated, truncated and the observation; "R seed n" prints n reset states
 * drawn from a PRNG seeded with seed. */
int main(void)
{
    cartpole_p env;
    rtu_prng rng;
    char op;
    double s[4];
    rtu_real obs[2], r;
    int a, te, tr;
    unsigned long long seed;
    int n, i;
    while (scanf(" %c", &op) == 1) {
        if (op == 'S') {
            if (scanf("%lf %lf %lf %lf", &s[0], &s[1], &s[2], &s[3]) != 4) return 2;
            cartpole_p_set_state(&env, s, obs);
        } else if (op == 'A') {
            rtu_status st;
            if (scanf("%d", &a) != 1) return 2;
            st = cartpole_p_step(&env, a, obs, &r, &te, &tr);
            if (st != RTU_OK) { printf("E %s\n", rtu_status_str(st)); continue; }
            printf("%.17g %.17g %.17g %.17g %d %d %.17g %.17g %.17g\n", env.state[0], env.state[1],
                   env.state[2], env.state[3], te, tr, (double)obs[0], (double)obs[1], (double)r);
        } else if (op == 'R') {
            if (scanf("%llu %d", &seed, &n) != 2) return 2;
            rtu_prng_seed(&rng, (uint64_t)seed);
            for (i = 0; i < n; i++) {
                cartpole_p_reset(&env, &rng, obs);
                printf("%.17g %.17g %.17g %.17g %.17g %.17g\n", env.state[0], env.state[1],
                       env.state[2], env.state[3], (double)obs[0], (double)obs[1]);
            }
        }
    }
    return 0;
}
"""


def _compiler():
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler")
    return cc


@pytest.fixture(scope="module")
def plant_driver(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("plant")
    src, exe = tmp / "driver.c", tmp / "driver"
    src.write_text(PLANT_DRIVER)
    build = subprocess.run([_compiler(), "-std=c99", "-O2", "-DRTU_DOUBLE", "-I", str(C_SRC), "-I",
                            str(COMMON), str(src), str(COMMON / "cartpole_p.c"),
                            *map(str, sorted(C_SRC.glob("*.c"))), "-o", str(exe), "-lm"],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    return exe


def _run_driver(exe, lines):
    run = subprocess.run([str(exe)], input="\n".join(lines) + "\n", capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    return run.stdout.splitlines()


def _balance(state):
    """A crude controller that keeps the pole up for a long time (so episodes reach truncation)."""
    x, x_dot, theta, theta_dot = state
    return int(theta + 0.5 * theta_dot + 0.01 * x + 0.05 * x_dot > 0)


def test_plant_matches_gymnasium_cartpole(plant_driver):
    gym = pytest.importorskip("gymnasium")
    rng = np.random.default_rng(0)
    env = gym.make("CartPole-v1")
    lines, expected = [], []
    for episode in range(30):
        env.reset(seed=episode)
        start = rng.uniform(-0.05, 0.05, size=4) if episode % 3 else rng.uniform(-0.2, 0.2, size=4)
        env.unwrapped.state = start.copy()
        lines.append("S " + " ".join(repr(float(v)) for v in start))
        for _ in range(600):
            a = _balance(env.unwrapped.state) if episode % 2 else int(rng.integers(2))
            obs, reward, term, trunc, _ = env.step(a)
            lines.append(f"A {a}")
            expected.append((np.array(env.unwrapped.state, dtype=np.float64), term, trunc, reward))
            if term or trunc:
                break
    out = _run_driver(plant_driver, lines)
    assert len(out) == len(expected)
    n_trunc = n_term = 0
    for line, (state, term, trunc, reward) in zip(out, expected):
        f = line.split()
        c_state = np.array([float(v) for v in f[:4]])
        np.testing.assert_allclose(c_state, state, rtol=1e-12, atol=1e-12)
        assert (bool(int(f[4])), bool(int(f[5]))) == (term, trunc)
        assert [float(f[6]), float(f[7])] == [c_state[0], c_state[2]]   # [x, theta] only
        assert float(f[8]) == reward == 1.0
        n_term += term
        n_trunc += trunc
    assert n_term > 5 and n_trunc > 2, (n_term, n_trunc)   # both episode ends were exercised


def test_plant_refuses_bad_actions_and_steps_after_the_end(plant_driver):
    out = _run_driver(plant_driver, ["S 0 0 0.25 0", "A 2", "A -1", "A 1", "A 1"])
    assert out[0] == out[1] == "E action is outside the action space"
    assert out[2].split()[4] == "1"          # |theta| > 12 degrees: terminated
    assert out[3].startswith("E ")           # stepping after the end is refused


def test_plant_reset_draws_from_the_project_prng(plant_driver):
    from rtu_edge.reference.prng import Prng
    out = _run_driver(plant_driver, ["R 7 50"])
    prng = Prng(7)
    for line in out:
        f = [float(v) for v in line.split()]
        want = [-0.05 + 0.1 * prng.uniform() for _ in range(4)]
        assert f[:4] == want
        assert f[4:] == [f[0], f[2]]
        assert all(abs(v) < 0.05 for v in f[:4])
