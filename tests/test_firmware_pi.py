"""Firmware examples: the shared CartPole-p plant (firmware_examples/common) and the Raspberry Pi
example (firmware_examples/raspberry_pi)."""
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


# ------------------------------------------------------------------------------------------------
# The Raspberry Pi example: build, learn under qemu, checkpoints, line protocol, trained weights

import os
import re
import signal
import sys
import time

CROSS = {  # target: (compiler, emulator, sysroot)
    "aarch64": ("aarch64-linux-gnu-gcc", "qemu-aarch64", "/usr/aarch64-linux-gnu"),
    "armhf": ("arm-linux-gnueabihf-gcc", "qemu-arm", "/usr/arm-linux-gnueabihf"),
}
CKPT_EVERY = 5000


def _need(ok: bool, what: str):
    """Skip when a tool is missing, unless CI is set: then the missing tool fails the test."""
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(f"{what} is missing (CI is set, so this fails instead of skipping)")
        pytest.skip(f"{what} is missing")


class Program:
    """A built rtu_pi: argv prefix (qemu for cross targets) and helpers to run it."""

    def __init__(self, exe, prefix):
        self.exe, self.prefix = exe, prefix

    def argv(self, *args):
        return [*self.prefix, str(self.exe), *map(str, args)]

    def run(self, *args, cwd, timeout=300, input=None):
        return subprocess.run(self.argv(*args), cwd=cwd, capture_output=True, text=True,
                              timeout=timeout, input=input)


def _build(target, build_root, model_header=None, name=None):
    _need(shutil.which("make") is not None, "make")
    _need(shutil.which("gcc") is not None, "gcc")
    prefix = []
    if target != "host":
        cc, qemu, sysroot = CROSS[target]
        _need(shutil.which(cc) is not None, cc)
        _need(shutil.which(qemu) is not None, qemu)
        _need(os.path.isdir(sysroot), sysroot)
        prefix = [qemu, "-L", sysroot]
    cmd = ["make", "-s", "-C", str(PI_DIR), f"TARGET={target}", f"BUILD_ROOT={build_root}"]
    if model_header is not None:
        cmd.append(f"MODEL_HEADER={model_header}")
    if name is not None:
        cmd.append(f"MODEL_NAME={name}")
    build = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout + build.stderr
    suffix = "-model" if model_header is not None else ""
    return Program(pathlib.Path(build_root) / f"{target}-float{suffix}" / "rtu_pi", prefix)


@pytest.fixture(scope="module")
def build_root(tmp_path_factory):
    return tmp_path_factory.mktemp("pi_build")


@pytest.fixture(scope="module")
def host(build_root):
    return _build("host", build_root)


@pytest.fixture(scope="module", params=["host", "aarch64"])
def program(request, build_root):
    """The host build, and the aarch64 build run under qemu-aarch64."""
    return _build(request.param, build_root)


def _final(out: str) -> dict:
    m = re.search(r"^final step (\d+) episodes (\d+) mean_return_last_(\d+) ([\d.]+) .*median "
                  r"([\d.]+) p99 ([\d.]+) max ([\d.]+).*learner buffer (\d+) bytes, checkpoint "
                  r"(\d+) bytes, peak RSS (\d+) kB", out, re.M)
    assert m, out[-2000:]
    keys = ["step", "episodes", "n_last", "mean_last", "median_us", "p99_us", "max_us",
            "buffer_bytes", "checkpoint_bytes", "rss_kb"]
    return {k: float(v) for k, v in zip(keys, m.groups())}


def _resumed_step(out: str, name: str) -> int:
    m = re.search(r"^resumed from (\S+) at step (\d+)", out, re.M)
    assert m, out[-2000:]
    assert m.group(1).endswith(name), m.group(0)
    return int(m.group(2))


def _ckpt(path):
    from ckpt_codec import decode_ac
    return decode_ac(pathlib.Path(path).read_bytes(), path)


def test_program_compiles_clean_with_clang(tmp_path):
    clang = shutil.which("clang")
    _need(clang is not None, "clang")
    sources = sorted(PI_DIR.glob("*.c")) + sorted(COMMON.glob("*.c"))
    assert {"rtu_pi.c", "ckpt_store.c", "line_proto.c", "timing.c", "cartpole_p.c",
            "ac_checkpoint.c"} <= {src.name for src in sources}
    for src in sources:
        r = subprocess.run([clang, "-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-O2",
                            "-I", str(C_SRC), "-I", str(COMMON), "-c", str(src), "-o",
                            str(tmp_path / "x.o")], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr


def _random_policy_return(episodes=300):
    from rtu_edge.tasks import make_env
    env, _ = make_env("cartpole-p", 0)
    rng = np.random.default_rng(0)
    returns = []
    for _ in range(episodes):
        env.reset()
        total, done = 0.0, False
        while not done:
            _, r, term, trunc, _ = env.step(int(rng.integers(2)))
            total += r
            done = term or trunc
        returns.append(total)
    return float(np.mean(returns))


# The learning run the README states: seed 0, 100,000 steps under qemu-aarch64.
LEARN_SEED, LEARN_STEPS, LEARN_THRESHOLD = 0, 100_000, 400.0  # default network: 493.4 (host 495.7)


def test_learns_cartpole_p_under_qemu_aarch64(build_root, tmp_path):
    prog = _build("aarch64", build_root)
    run = prog.run("--seed", LEARN_SEED, "--steps", LEARN_STEPS, "--quiet", "--report-every", 0,
                   "--checkpoint", "ckpt.rtu", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    final = _final(run.stdout)
    random_return = _random_policy_return()
    print(f"\nqemu-aarch64, seed {LEARN_SEED}, {LEARN_STEPS} steps: mean return of the last 20 "
          f"episodes {final['mean_last']} (random policy {random_return:.1f}); act+learn median "
          f"{final['median_us']} us, p99 {final['p99_us']} us")
    assert final["step"] == LEARN_STEPS and final["n_last"] == 20
    assert 15 < random_return < 30
    assert final["mean_last"] >= LEARN_THRESHOLD > 5 * random_return
    assert _ckpt(tmp_path / "ckpt.rtu").steps == LEARN_STEPS


def test_same_binary_runs_under_qemu_arm_and_its_checkpoint_resumes_on_host(build_root, host,
                                                                           tmp_path):
    arm = _build("armhf", build_root)
    run = arm.run("--seed", 0, "--steps", 20000, "--quiet", "--checkpoint", "ckpt.rtu",
                  cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    final = _final(run.stdout)
    assert final["step"] == 20000 and final["episodes"] > 20
    # the checkpoint format is the same everywhere: the x86 build goes on from the ARM one
    run = host.run("--steps", 21000, "--quiet", "--checkpoint", "ckpt.rtu", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert _resumed_step(run.stdout, "ckpt.rtu") == 20000
    assert _final(run.stdout)["step"] == 21000


def _start_and_wait(prog, cwd, until_step, *extra):
    """Start a sim run that would go on forever; return it once it reported until_step."""
    proc = subprocess.Popen(prog.argv("--seed", 3, "--quiet", "--report-every", 1000,
                                      "--checkpoint-every", CKPT_EVERY, "--checkpoint", "ckpt.rtu",
                                      *extra), cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    seen = 0
    deadline = time.monotonic() + 120
    for line in proc.stdout:
        m = re.match(r"report step (\d+)", line)
        if m:
            seen = int(m.group(1))
            if seen >= until_step:
                break
        assert time.monotonic() < deadline, "no progress"
    assert seen >= until_step, proc.stderr.read()
    return proc, seen


def test_sigkill_then_restart_continues_from_the_checkpoint(program, tmp_path):
    proc, seen = _start_and_wait(program, tmp_path, 12000)
    proc.kill()                                   # SIGKILL: no chance to save
    proc.wait(timeout=30)
    proc.stdout.close()
    proc.stderr.close()
    saved = _ckpt(tmp_path / "ckpt.rtu").steps
    prev = _ckpt(tmp_path / "ckpt.rtu.prev").steps
    # checkpoints every 5000 steps: the newest is the last multiple of 5000 reached, the one before
    # is kept as .prev, and at most 5000 steps are lost
    assert saved % CKPT_EVERY == 0 and saved >= seen - seen % CKPT_EVERY and saved > 0
    assert prev == saved - CKPT_EVERY
    assert not (tmp_path / "ckpt.rtu.tmp").exists() or saved >= seen
    if (tmp_path / "ckpt.rtu.tmp").exists():  # killed within a save: it finishes on restart
        try:
            saved, prev = _ckpt(tmp_path / "ckpt.rtu.tmp").steps, saved
        except ValueError:  # cut short before it was complete: removed
            pass
    run = program.run("--steps", saved + 3000, "--quiet", "--checkpoint-every", CKPT_EVERY,
                      "--checkpoint", "ckpt.rtu", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert _resumed_step(run.stdout, "ckpt.rtu") == saved
    assert _final(run.stdout)["step"] == saved + 3000
    assert _ckpt(tmp_path / "ckpt.rtu").steps == saved + 3000
    assert _ckpt(tmp_path / "ckpt.rtu.prev").steps == saved


def test_sigterm_saves_at_the_next_safe_point_and_exits_cleanly(program, tmp_path):
    proc, seen = _start_and_wait(program, tmp_path, 7000)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "stopped by signal 15" in out
    final = _final(out)
    m = re.search(r"^checkpoint ckpt.rtu at step (\d+)", out, re.M)
    assert m and int(m.group(1)) == final["step"] >= seen
    assert _ckpt(tmp_path / "ckpt.rtu").steps == final["step"]   # nothing lost
    run = program.run("--steps", int(final["step"]) + 100, "--quiet", "--checkpoint", "ckpt.rtu",
                      cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert _resumed_step(run.stdout, "ckpt.rtu") == final["step"]


def test_corrupted_or_truncated_checkpoint_is_refused_with_fallback(host, tmp_path):
    args = ["--seed", 1, "--quiet", "--checkpoint-every", 1000, "--checkpoint", "ckpt.rtu"]
    assert host.run("--steps", 3000, *args, cwd=tmp_path).returncode == 0
    good_prev = (tmp_path / "ckpt.rtu.prev").read_bytes()      # step 2000
    assert _ckpt(tmp_path / "ckpt.rtu").steps == 3000

    # a flipped byte: refused by its CRC, the previous checkpoint is used
    data = bytearray((tmp_path / "ckpt.rtu").read_bytes())
    data[200] ^= 0x40
    (tmp_path / "ckpt.rtu").write_bytes(bytes(data))
    run = host.run("--steps", 2500, *args, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "checkpoint ckpt.rtu refused: checkpoint CRC32 mismatch" in run.stderr
    assert _resumed_step(run.stdout, "ckpt.rtu.prev") == 2000
    assert "after the newer checkpoint was refused" in run.stdout
    # the bad file was overwritten, and not rotated into .prev: the good one is kept
    assert _ckpt(tmp_path / "ckpt.rtu").steps == 2500
    assert (tmp_path / "ckpt.rtu.prev").read_bytes() == good_prev

    # truncated: refused as truncated, fallback again
    data = (tmp_path / "ckpt.rtu").read_bytes()
    (tmp_path / "ckpt.rtu").write_bytes(data[:len(data) // 2])
    run = host.run("--steps", 2600, *args, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "checkpoint ckpt.rtu refused: checkpoint is truncated" in run.stderr
    assert _resumed_step(run.stdout, "ckpt.rtu.prev") == 2000

    # both unusable (one garbage, one empty): a fresh start, said so
    (tmp_path / "ckpt.rtu").write_bytes(b"not a checkpoint at all" * 10)
    (tmp_path / "ckpt.rtu.prev").write_bytes(b"")
    run = host.run("--steps", 500, *args, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "checkpoint ckpt.rtu refused: not an rtu_edge checkpoint" in run.stderr
    assert "previous checkpoint ckpt.rtu.prev refused" in run.stderr
    assert "no usable checkpoint: starting anew" in run.stdout
    assert "fresh learner" in run.stdout and _final(run.stdout)["step"] == 500


def test_a_save_killed_between_its_renames_is_finished_and_an_incomplete_one_removed(host,
                                                                                    tmp_path):
    """A kill between a save's two renames leaves PATH.prev and the complete, newer PATH.tmp: a
    restart loads PATH.tmp and renames it to PATH (nothing is lost). A PATH.tmp cut short is
    refused by the loader and removed; PATH is used."""
    args = ["--seed", 1, "--quiet", "--checkpoint-every", 1000, "--checkpoint", "ckpt.rtu"]
    assert host.run("--steps", 3000, *args, cwd=tmp_path).returncode == 0
    (tmp_path / "ckpt.rtu").rename(tmp_path / "ckpt.rtu.tmp")  # PATH -> .prev done, not .tmp
    assert _ckpt(tmp_path / "ckpt.rtu.prev").steps == 2000
    run = host.run("--steps", 3500, *args, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert _resumed_step(run.stdout, "ckpt.rtu") == 3000
    assert "finished from .tmp" in run.stdout
    assert not (tmp_path / "ckpt.rtu.tmp").exists()
    assert _ckpt(tmp_path / "ckpt.rtu").steps == 3500
    assert _ckpt(tmp_path / "ckpt.rtu.prev").steps == 3000

    data = (tmp_path / "ckpt.rtu").read_bytes()
    (tmp_path / "ckpt.rtu.tmp").write_bytes(data[:len(data) - 100])  # killed while writing it
    run = host.run("--steps", 3600, *args, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "unfinished checkpoint ckpt.rtu.tmp refused: checkpoint is truncated" in run.stderr
    assert "removed ckpt.rtu.tmp" in run.stderr
    assert _resumed_step(run.stdout, "ckpt.rtu") == 3500
    assert not (tmp_path / "ckpt.rtu.tmp").exists()
    assert _ckpt(tmp_path / "ckpt.rtu").steps == 3600


class LineDevice:
    """The device side of the line protocol, over the program's stdin and stdout."""

    def __init__(self, prog, cwd, *args):
        self.err = open(pathlib.Path(cwd) / "stderr.txt", "w+")
        self.proc = subprocess.Popen(prog.argv("--io", "stdio", "--quiet", *args), cwd=cwd,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.err, text=True, bufsize=1)

    def ask(self, line: str) -> str:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        assert reply, self.stderr()
        return reply.strip()

    def obs(self, obs, reward=None, terminated=False, truncated=False) -> str:
        text = "obs " + " ".join(repr(float(v)) for v in obs)
        if reward is not None:
            text += f" reward {float(reward)!r} terminated {int(terminated)} " \
                    f"truncated {int(truncated)}"
        return self.ask(text)

    def close(self, timeout=60) -> int:
        self.proc.stdin.close()
        code = self.proc.wait(timeout=timeout)
        self.proc.stdout.close()
        return code

    def stderr(self) -> str:
        self.err.flush()
        self.err.seek(0)
        return self.err.read()


def test_line_protocol_drives_the_learner_like_python(host, tmp_path):
    """rtu_pi on the line protocol, the device being Python's CartPole-p: the program takes the
    actions rtu_edge.ActorCritic (C core, float32, same seed) takes on the same stream, and its
    checkpoint at an episode end is byte for byte the Python learner's."""
    from rtu_edge import ActorCritic
    from rtu_edge.tasks import make_env
    env, spec = make_env("cartpole-p", 5)
    ac = ActorCritic(spec.obs_size, 32, spec.n_actions, kind="linear", activation="tanh", seed=5,
                     backend="c", dtype=np.float32)
    dev = LineDevice(host, tmp_path, "--seed", 5, "--checkpoint", "ckpt.rtu",
                     "--checkpoint-every", 100000)
    obs, _ = env.reset()
    reply = dev.obs(obs)
    steps = episodes = 0
    while True:
        action = int(ac.act(obs))
        assert reply == f"act {action}", (steps, reply)
        obs, reward, term, trunc, _ = env.step(action)
        ac.learn(reward, obs, term, trunc)
        reply = dev.obs(obs, reward, term, trunc)
        steps += 1
        if term or trunc:
            assert reply == "reset"
            episodes += 1
            if steps >= 3000:
                break
            obs, _ = env.reset()
            reply = dev.obs(obs)
    assert dev.close() == 0, dev.stderr()
    err = dev.stderr()
    assert "end of input" in err and f"final step {steps} episodes {episodes}" in err
    ac.save(tmp_path / "python.rtu")
    assert (tmp_path / "ckpt.rtu").read_bytes() == (tmp_path / "python.rtu").read_bytes()


def test_line_protocol_errors_restarts_and_sigterm(host, tmp_path):
    args = ("--checkpoint", "ckpt.rtu", "--n-in", 2, "--n-actions", 3)
    dev = LineDevice(host, tmp_path, *args)
    assert dev.ask("hello") .startswith("error expected: obs")
    assert dev.ask("obs 0.1") == "error too few observation values"
    assert dev.ask("obs 0.1 0.2 0.3") .startswith("error too many observation values")
    assert dev.ask("obs 0.1 x") == "error an observation value is not a number"
    assert dev.ask("obs 0.1 nan") == "error input contains NaN or Inf"
    assert dev.ask("obs 0.1 2e6") == "error input has a value beyond +-RTU_INPUT_LIMIT (1e6)"
    assert re.fullmatch(r"act [012]", dev.obs([0.1, 0.2]))
    assert dev.ask("obs 0.1 0.2 reward 1 terminated 2 truncated 0").startswith("error expected "
                                                                                "terminated")
    for i in range(10):
        assert re.fullmatch(r"act [012]", dev.obs([0.1 * i, -0.1 * i], 1.0)), i
    # SIGTERM while the program waits for the outcome of its last action: it drops that action,
    # saves what it learned and exits cleanly
    dev.proc.send_signal(signal.SIGTERM)
    assert dev.proc.wait(timeout=30) == 0, dev.stderr()
    dev.proc.stdin.close()
    dev.proc.stdout.close()
    assert "stopped by signal 15" in dev.stderr()
    assert _ckpt(tmp_path / "ckpt.rtu").steps == 10
    # restarted, the device goes on with the outcome of the action the old process sent: a new
    # episode starts from that observation
    dev = LineDevice(host, tmp_path, *args)
    assert re.fullmatch(r"act [012]", dev.obs([0.5, 0.5], 1.0))
    assert re.fullmatch(r"act [012]", dev.obs([0.5, 0.6], 1.0))
    assert dev.obs([0.5, 0.7], 1.0, terminated=True) == "reset"
    assert re.fullmatch(r"act [012]", dev.obs([0.0, 0.0]))
    assert dev.close() == 0
    assert "resumed from ckpt.rtu at step 10" in dev.stderr()
    assert _ckpt(tmp_path / "ckpt.rtu").steps == 12


def test_line_protocol_bad_values_mid_episode_leave_the_action_pending(host, tmp_path):
    """A plain obs line (or an outcome with nothing pending) with a NaN or a value beyond 1e6, or
    a bad reward, is refused before a new episode starts: the pending action and the episode are
    kept, and the next outcome, a terminal one, is learned."""
    dev = LineDevice(host, tmp_path, "--n-in", 2, "--n-actions", 2, "--checkpoint", "")
    assert re.fullmatch(r"act [01]", dev.obs([0.01, -0.03]))
    assert dev.ask("obs nan 0") == "error input contains NaN or Inf"
    assert dev.ask("obs 1e7 0") == "error input has a value beyond +-RTU_INPUT_LIMIT (1e6)"
    assert dev.obs([0.02, -0.02], -10, terminated=True) == "reset"      # learned, not a restart
    # nothing pending after the reset: an outcome line (a restart) with a bad reward is refused
    assert dev.ask("obs 0 0 reward nan terminated 0 truncated 0") == \
        "error input contains NaN or Inf"
    assert dev.ask("obs 0 0 reward 2e6 terminated 1 truncated 0") == \
        "error input has a value beyond +-RTU_INPUT_LIMIT (1e6)"
    assert re.fullmatch(r"act [01]", dev.obs([0.0, 0.0]))
    assert dev.close() == 0
    assert "final step 1 episodes 1" in dev.stderr()


def test_line_protocol_continuous_actions_and_bye_at_the_step_limit(host, tmp_path):
    dev = LineDevice(host, tmp_path, "--continuous", "--n-in", 3, "--n-actions", 2, "--steps", 2,
                     "--checkpoint", "")
    number = r"-?[0-9.]+(e[-+]?[0-9]+)?"
    assert re.fullmatch(rf"act {number} {number}", dev.obs([0.1, 0.2, 0.3]))
    assert re.fullmatch(rf"act {number} {number}", dev.obs([0.1, 0.2, 0.4], -0.5))
    assert dev.obs([0.1, 0.2, 0.5], -0.5) == "bye"          # --steps 2 reached: no act follows
    assert dev.close() == 0
    assert "final step 2 " in dev.stderr()


def test_a_checkpoint_that_cannot_be_written_does_not_stop_learning(host, tmp_path):
    run = host.run("--steps", 3000, "--quiet", "--checkpoint-every", 1000, "--checkpoint",
                   tmp_path / "missing" / "ckpt.rtu", cwd=tmp_path)
    assert run.stderr.count("going on without this checkpoint (none is written yet)") == 3
    assert _final(run.stdout)["step"] == 3000               # steps 1000, 2000, 3000 failed
    assert run.returncode == 2                              # the final one failed too
    assert "no checkpoint written to" in run.stdout and " at step " not in run.stdout.replace(
        "final step", "")                                   # no checkpoint is claimed


@pytest.mark.parametrize("mode", ["sign", "centered_sign", "gated_sign"])
def test_reward_sign_network_learns_and_loads_back_as_it_was_trained(host, tmp_path, mode):
    """--prev-reward sign (or centered_sign, gated_sign): a fresh learner takes the previous
    reward's sign (centred, or gated; the header says 2, 3 or 4 in its checkpoint, which a Python
    learner of that network loads; the signs' statistics kept when centred or gated, and the
    gate still closed on the simulated pole's rewards, all +1); a mode that is none of the five
    is refused in one line."""
    run = host.run("--prev-reward", mode, "--steps", 2000, "--quiet", "--checkpoint",
                   "sign.rtu", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert f"previous reward in as {mode};" in run.stdout
    ckpt = _ckpt(tmp_path / "sign.rtu")
    assert ckpt.network.prev_reward == mode and ckpt.steps == 2000
    assert (tmp_path / "sign.rtu").read_bytes()[72] == {"sign": 2, "centered_sign": 3,
                                                         "gated_sign": 4}[mode]
    from rtu_edge import ActorCritic
    ac = ActorCritic(2, 32, 2, dtype=np.float32, network=ckpt.network)
    ac.load(tmp_path / "sign.rtu")
    assert ac.steps == 2000 and ac.network.prev_reward == mode
    stats = ac.prev_reward_statistics
    assert stats["count"] == 2000 and (stats["mean"] != 0) == (mode != "sign")
    assert stats["m2"] == 0.0
    run = host.run("--prev-reward", "signs", "--steps", 10, "--checkpoint", "x.rtu", cwd=tmp_path)
    assert run.returncode != 0
    assert run.stderr.strip() == ("rtu_pi: --prev-reward must be none, normalized, sign, "
                                  "centered_sign or gated_sign, got signs")


@pytest.mark.parametrize("args, message", [
    (["--bogus", "--quiet"], "unknown option --bogus (--help lists them)"),
    (["--steps", "--quiet"], "--steps takes an integer >= 0, got --quiet"),
    (["--io", "stdio", "--fresh", "--n-actions", 1],
     "discrete actions need --n-actions >= 2 (one action is no choice), got 1"),
])
def test_a_bad_command_line_is_one_line_naming_the_flag(host, tmp_path, args, message):
    run = host.run(*args, "--checkpoint", "", cwd=tmp_path, input="")
    assert run.returncode == 1 and run.stderr == f"rtu_pi: {message}\n" and run.stdout == ""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A float32 and a float64 checkpoint written by `rtu-edge train` (linear RTU, 16 units,
    with an input layer and the previous action and reward: every part of the network)."""
    out = tmp_path_factory.mktemp("trained")
    paths = {}
    for dtype in ("float32", "float64"):
        run = subprocess.run([sys.executable, "-m", "rtu_edge.cli", "train", "--task",
                              "cartpole-p", "--backend", "c", "--dtype", dtype, "--steps", "2000",
                              "--kind", "linear", "--activation", "tanh", "--hidden", "16",
                              "--n-embed", "16", "--prev-action", "--prev-reward", "normalized",
                              "--seed", "1", "--out", str(out / dtype)],
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        paths[dtype] = out / dtype / "checkpoint.rtu"
    return paths


def test_loads_a_checkpoint_trained_in_python(host, trained, tmp_path):
    src = _ckpt(trained["float32"])
    run = host.run("--load", trained["float32"], "--steps", src.steps + 1000, "--quiet",
                   "--checkpoint", "ckpt.rtu", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert f"loaded {trained['float32']} (trained for {src.steps} steps" in run.stdout
    assert "linear RTU, 16 units" in run.stdout
    assert _final(run.stdout)["step"] == src.steps + 1000
    # a second start resumes its own checkpoint, not --load again
    run = host.run("--load", trained["float32"], "--steps", src.steps + 1500, "--quiet",
                   "--checkpoint", "ckpt.rtu", cwd=tmp_path)
    assert _resumed_step(run.stdout, "ckpt.rtu") == src.steps + 1000
    # another precision is refused with the reason
    run = host.run("--load", trained["float64"], "--steps", 10, "--fresh", "--checkpoint", "x.rtu",
                   cwd=tmp_path)
    assert run.returncode != 0
    assert "--load refused: checkpoint is of another precision" in run.stderr
    assert "PRECISION=double" in run.stderr


def test_loads_a_network_pretrained_by_ppo_and_learns_on(host, tmp_path):
    """The hand-off: a checkpoint of `rtu-edge train --algo ppo` is an actor-critic's, which the
    program loads (--load) and goes on learning from, its step counter the environments' steps
    PPO took."""
    run = subprocess.run([sys.executable, "-m", "rtu_edge.cli", "train", "--task", "cartpole-p",
                          "--algo", "ppo", "--n-envs", "4", "--n-steps", "64", "--steps", "2000",
                          "--hidden", "16", "--n-embed", "16", "--seed", "1",
                          "--out", str(tmp_path / "ppo")], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    ckpt = tmp_path / "ppo" / "checkpoint.rtu"
    src = _ckpt(ckpt)
    run = host.run("--load", ckpt, "--steps", src.steps + 1000, "--quiet", "--checkpoint",
                   "ckpt.rtu", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert f"loaded {ckpt} (trained for {src.steps} steps" in run.stdout
    assert _final(run.stdout)["step"] == src.steps + 1000


@pytest.mark.parametrize("name", ["model", "robot"])
def test_starts_from_an_exported_c_header(trained, tmp_path, name):
    header = tmp_path / f"{name}.h"
    export = subprocess.run([sys.executable, "-m", "rtu_edge.cli", "export", "--checkpoint",
                             str(trained["float32"]), "--c-header", str(header), "--name", name],
                            capture_output=True, text=True, timeout=300)
    assert export.returncode == 0, export.stderr
    prog = _build("host", tmp_path / "build", model_header=header, name=name)
    # no input: the program only loads the learner from the checkpoint the header embeds
    # (<name>_checkpoint) and checkpoints it
    run = prog.run("--model", "--io", "stdio", "--checkpoint", "ckpt.rtu", cwd=tmp_path, input="")
    assert run.returncode == 0, run.stderr
    assert "started from the compiled-in model" in run.stderr
    src, got = _ckpt(trained["float32"]), _ckpt(tmp_path / "ckpt.rtu")
    assert got.steps == src.steps and got.obs_count == src.obs_count
    assert (got.kind, got.activation, got.n_obs, got.n_hidden, got.network, got.action_kind,
            got.n_actions) == (src.kind, src.activation, src.n_obs, src.n_hidden, src.network,
                               src.action_kind, src.n_actions)
    assert got.config == src.config
    weights = [k for k in src.arrays if k.endswith(("params", "embed", "head"))]
    assert len(weights) == 6   # two trunks (input layer, cell), two heads
    for key in weights + ["obs_mean", "obs_m2"]:   # the trained weights
        assert np.array_equal(got.arrays[key], src.arrays[key]), key
    # the same learner as --load of the checkpoint file: byte for byte the same checkpoint
    run = prog.run("--load", trained["float32"], "--io", "stdio", "--checkpoint", "loaded.rtu",
                   cwd=tmp_path, input="")
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "loaded.rtu").read_bytes() == (tmp_path / "ckpt.rtu").read_bytes()
    # and it learns on from there, on the simulated plant
    run = prog.run("--model", "--steps", src.steps + 2000, "--quiet", "--checkpoint", "sim.rtu",
                   cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert _final(run.stdout)["step"] == src.steps + 2000


def test_serial_device_path_in_raw_mode(host, tmp_path):
    """--io DEVICE on a pseudo-terminal: the program sets it raw (no echo, no CR/LF translation)
    and speaks the line protocol on it."""
    import pty
    import termios
    master, slave = pty.openpty()
    path = os.ttyname(slave)
    proc = subprocess.Popen(host.argv("--io", path, "--baud", 115200, "--quiet", "--checkpoint",
                                      "ckpt.rtu"), cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:
            if line.startswith("listening on"):
                break
        else:
            pytest.fail(proc.stderr.read())
        attrs = termios.tcgetattr(slave)
        assert not attrs[3] & (termios.ECHO | termios.ICANON)     # lflag: raw
        assert not attrs[0] & termios.ICRNL                         # iflag: no CR -> NL

        def ask(text):
            os.write(master, (text + "\r\n").encode())              # CRLF is accepted
            reply = b""
            while not reply.endswith(b"\n"):
                reply += os.read(master, 100)
            return reply.decode()
        assert re.fullmatch(r"act [01]\n", ask("obs 0.01 -0.02"))
        assert re.fullmatch(r"act [01]\n", ask("obs 0.02 -0.03 reward 1 terminated 0 truncated 0"))
        assert ask("obs 0.03 -0.3 reward 1 terminated 1 truncated 0") == "reset\n"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
        os.close(slave)
    assert proc.returncode == 0, err
    assert _ckpt(tmp_path / "ckpt.rtu").steps == 2
