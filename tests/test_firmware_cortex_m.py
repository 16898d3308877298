"""The Cortex-M4F firmware example (firmware_examples/cortex_m): built with arm-none-eabi-gcc, its
size reported, run under qemu-system-arm (MPS2-AN386 board, semihosting), learning CartPole with
hidden velocities on the emulated microcontroller.

Skipped when the cross tools are missing, unless the environment variable CI is set (then the
missing tool is a failure)."""
import os
import pathlib
import re
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
FW_DIR = ROOT / "firmware_examples" / "cortex_m"
TOOLS = ("make", "arm-none-eabi-gcc", "arm-none-eabi-size", "arm-none-eabi-nm", "qemu-system-arm")

# The learning run: the learner is deterministic (its own PCG32 streams; QEMU emulates the FPU
# exactly), so a seed and a budget give one result: the defaults reach a mean return of 500.0 over
# the last 20 episodes from 17.4 over the first 20 (firmware_examples/cortex_m/README.md).
SEED, STEPS = 2, 200000  # the Makefile defaults: about 1-2 minutes under QEMU
HIDDEN, EMBED, HEAD, N_IN, N_ACTIONS = 16, 16, 16, 2, 2
STACK = 4096  # STACK_SIZE of mps2_an386.ld
RAM = 32 * 1024  # the RAM the example must fit: static data and the stack region


def _require_tools():
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        message = "missing tools for the Cortex-M example: " + ", ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def firmware(tmp_path_factory):
    """Build app.elf into a temporary directory; returns (build directory, make's output)."""
    _require_tools()
    build = tmp_path_factory.mktemp("cortex_m")
    run = subprocess.run(["make", "-C", str(FW_DIR), f"BUILD={build}", f"STEPS={STEPS}",
                          f"SEED={SEED}", f"HIDDEN={HIDDEN}", f"EMBED={EMBED}", f"HEAD={HEAD}"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    return build, run.stdout


def _learner_bytes():
    """RTU_AC_BUFFER_BYTES for the example's learner (float), from rtu_ac.h's documented layout
    (RTU_AC_REALS): per trunk (separate: two) the input layer, its LN output and e, the cell;
    each head's parameters; z_v and z_pi over each network's parameters; the heads' activations,
    the peek and backward scratch, pi, x and x_next, the observation statistics, the action."""
    n, m, k, a = HIDDEN, EMBED, HEAD, N_ACTIONS
    n_x = N_IN + a + 1                             # the previous action (one-hot) and reward
    embed = m * (n_x + 1)
    cell_params, cell = 2 * n + 2 * n * m, 18 * n + 4 * n * m   # linear kind, m inputs
    heads = (k * (2 * n + 1) + (k + 1)) + (k * (2 * n + 1) + a * (k + 1))
    reals = (2 * (embed + 2 * m + cell) + heads + 2 * (embed + cell_params) + heads
             + 7 * k + 3 * m + 4 * n + 3 * a + 1 + 2 * n_x + 3 * N_IN + a)
    return 4 * reals


def test_size_report(firmware):
    build, out = firmware
    m = re.search(r"^\s*text\s+data\s+bss\s+dec\s+hex\s+filename\s*\n"
                  r"\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+([0-9a-f]+)\s+\S*app\.elf\s*$", out, re.M)
    assert m, out
    text, data, bss = (int(m.group(i)) for i in (1, 2, 3))
    assert 1000 < text < 256 * 1024                # fits the flash of a small Cortex-M4F part
    assert 0 <= data < 4096
    assert bss >= _learner_bytes()                 # the learner's buffer is a static array
    assert data + bss + STACK < RAM                # within 32 KB of RAM, with the stack
    assert int(m.group(4)) == text + data + bss


def test_learner_buffer_matches_the_host_size_query():
    np = pytest.importorskip("numpy")
    from rtu_edge import ActorCritic
    ac = ActorCritic(N_IN, HIDDEN, N_ACTIONS, kind="linear", seed=0, dtype=np.float32,
                     n_embed=EMBED, n_head=HEAD, prev_action=True, prev_reward="normalized")
    assert ac.memory_bytes == _learner_bytes()


def test_no_heap_and_no_stdio_in_the_image(firmware):
    build, _ = firmware
    nm = subprocess.run(["arm-none-eabi-nm", str(build / "app.elf")], capture_output=True,
                        text=True, check=True).stdout
    symbols = {line.split()[-1] for line in nm.splitlines() if line.strip()}
    forbidden = {"malloc", "free", "calloc", "realloc", "_sbrk", "_malloc_r", "printf", "puts",
                 "fprintf", "fwrite", "fputs", "putchar", "fopen", "_write", "_read"}
    assert not symbols & forbidden, symbols & forbidden
    # the learner's buffer is in .bss, sized by RTU_AC_BUFFER_BYTES
    sizes = subprocess.run(["arm-none-eabi-nm", "-S", str(build / "app.elf")], capture_output=True,
                           text=True, check=True).stdout
    line = next(ln for ln in sizes.splitlines() if ln.endswith(" learner_buffer"))
    size, kind = line.split()[1:3]
    assert int(size, 16) == _learner_bytes() and kind in "bB"


def test_learns_cartpole_under_qemu(firmware):
    build, _ = firmware
    run = subprocess.run(["make", "-s", "-C", str(FW_DIR), f"BUILD={build}", f"STEPS={STEPS}",
                          f"SEED={SEED}", f"HIDDEN={HIDDEN}", "TIMEOUT=300", "run"],
                         capture_output=True, text=True, timeout=400)
    out = run.stdout
    assert run.returncode == 0, f"exit status {run.returncode}\n{out}\n{run.stderr}"
    assert "FAULT" not in out and "error" not in out, out
    result = dict(kv.split("=") for kv in re.search(r"^RESULT (.*)$", out, re.M).group(1).split())
    first, last = float(result["first20"]), float(result["last20"])
    random_mean = float(re.search(r"random policy: mean return of 20 episodes ([\d.]+)",
                                  out).group(1))
    assert int(result["steps"]) >= STEPS and int(result["episodes"]) > 40
    assert int(result["learner_bytes"]) == _learner_bytes()
    assert 0 < int(result["stack_peak"]) < STACK // 2
    assert 10 < random_mean < 40, out              # a random policy lasts about 22 steps
    # learned: the last 20 episodes last several times longer than the first 20 and than chance
    assert last > 3 * first and last > 3 * random_mean, out


@pytest.mark.parametrize("cell_kind,hidden,algo", [("linear", 16, "ac"), ("lru", 8, "ac"),
                                                   ("linear", 16, "ppo")])
def test_goes_on_from_a_checkpoint_compiled_in_from_an_exported_header(tmp_path, cell_kind,
                                                                       hidden, algo):
    """make MODEL_HEADER=robot.h: the firmware loads the learner from the checkpoint the header
    embeds in flash (robot_checkpoint, the file's bytes) and learns on from its step counter; the
    image keeps within 32 KB of RAM (static data and the 4 KB stack). Any kind: the LRU too, with
    8 units (its readout's 4n^2 parameters per network make 16 units too large for 32 KB). A
    network pretrained by PPO (--algo ppo) is handed off the same way."""
    _require_tools()
    import sys
    ppo = ["--algo", "ppo", "--n-envs", "4", "--n-steps", "64"] if algo == "ppo" else []
    train = subprocess.run([sys.executable, "-m", "rtu_edge.cli", "train", "--task", "cartpole-p",
                            "--backend", "c", "--dtype", "float32", "--steps", "2000", "--kind",
                            cell_kind, "--activation", "tanh", "--hidden", str(hidden), "--n-embed",
                            "16", "--n-head", "16", "--seed", "1", *ppo,
                            "--out", str(tmp_path / "trained")],
                           capture_output=True, text=True, timeout=300)
    assert train.returncode == 0, train.stderr
    ckpt = tmp_path / "trained" / "checkpoint.rtu"
    header = tmp_path / "robot.h"
    export = subprocess.run([sys.executable, "-m", "rtu_edge.cli", "export", "--checkpoint",
                             str(ckpt), "--c-header", str(header), "--name", "robot"],
                            capture_output=True, text=True, timeout=300)
    assert export.returncode == 0, export.stderr
    from rtu_edge.checkpoint import read_dims
    trained_steps = read_dims(ckpt.read_bytes(), ckpt).steps
    build = tmp_path / "build"
    args = ["make", "-C", str(FW_DIR), f"BUILD={build}", "STEPS=3000", f"SEED={SEED}",
            f"MODEL_HEADER={header}", "MODEL_NAME=robot"]
    run = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    m = re.search(r"^\s*(\d+)\s+(\d+)\s+(\d+)\s+\d+\s+[0-9a-f]+\s+\S*app\.elf\s*$", run.stdout,
                  re.M)
    assert m, run.stdout
    text, data, bss = (int(m.group(i)) for i in (1, 2, 3))
    assert data + bss + STACK < RAM
    nm = subprocess.run(["arm-none-eabi-nm", "-S", str(build / "app.elf")], capture_output=True,
                        text=True, check=True).stdout
    line = next(ln for ln in nm.splitlines() if ln.endswith(" robot_checkpoint"))
    size, kind = line.split()[1:3]
    assert int(size, 16) == len(ckpt.read_bytes()) and kind in "tTrR"    # in flash, whole
    run = subprocess.run([*args, "-s", "TIMEOUT=300", "run"], capture_output=True, text=True,
                         timeout=400)
    out = run.stdout
    assert run.returncode == 0, f"exit status {run.returncode}\n{out}\n{run.stderr}"
    assert f"{cell_kind} RTU ({hidden} units, tanh, float)" in out
    assert f"going on from the compiled-in checkpoint: trained for {trained_steps} steps" in out
    result = dict(kv.split("=") for kv in re.search(r"^RESULT (.*)$", out, re.M).group(1).split())
    assert int(result["learner_steps"]) == trained_steps + int(result["steps"])
    assert int(result["stack_peak"]) < STACK  # loading the checkpoint fits the stack too
    assert int(result["steps"]) >= 3000
