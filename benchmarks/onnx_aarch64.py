#!/usr/bin/env python3
"""Exported ONNX models on onnxruntime for 64-bit ARM Linux (aarch64, e.g. a Raspberry Pi with a
64-bit OS), run under qemu-aarch64 on this machine, against the C float32 core on the host.

It trains three small learners on the host with the C core (an actor-critic on CartPole-p, a
continuous actor-critic with a linear RTU on Pendulum-p, TD(lambda) on trace conditioning),
exports each with rtu_edge.export.onnx_export (the float32 step model, its int8 variant and the
float32 sequence (Scan) model), writes a rollout of observations (validate.rollout_observations)
to .npy, and runs every model under qemu-aarch64 on an aarch64 CPython with onnxruntime's and
numpy's official aarch64 wheels (benchmarks/onnx_aarch64_runner.py: numpy + onnxruntime only,
state_out fed back, batch 1, one thread). Back on the host it checks:

* float32 step and sequence models against CModel (the C core, float32) with the project's rule
  (rtu_edge/validate.py): max |ONNX - C| / max(1, max |C|) <= ONNX_TOLERANCE (1e-5) for the
  outputs and for the state;
* the int8 model against the float32 model, both on aarch64: max |int8 - f32| / max |f32| per
  output and for the state within INT8_RELATIVE_BOUND;
* for information, aarch64 onnxruntime against the host's onnxruntime (same models).

It times session.run per step under qemu: that is emulated time (TCG on this x86 machine), not
the speed of any ARM board.

The aarch64 environment is set up once in a cache directory (default benchmarks/bin/aarch64-python,
git-ignored), on a Debian machine with qemu-user, dpkg and apt-get (root, for the arm64 package
lists): Debian's arm64 packages of CPython and the libraries it and onnxruntime load
(apt-get download + dpkg -x, no chroot, no binfmt), the aarch64 wheels of the host's onnxruntime
and numpy versions (pip download --platform ...), and a /proc/cpuinfo of an ARM CPU inside the
root: qemu-aarch64 (7.2) passes the host's x86 /proc/cpuinfo through to the guest, and
onnxruntime's CPU detection (cpuinfo) dereferences NULL on it while the module loads (SIGSEGV at
import); qemu's -L prefix serves ROOT/proc/cpuinfo instead. The CPU is a Cortex-A72 (a Raspberry
Pi 4's) by default, emulated with -cpu cortex-a72 and described by the same cpuinfo.

Usage:
    python benchmarks/onnx_aarch64.py              # the first run sets up the cache: ~40 MB of
                                                   # downloads, ~170 MB unpacked
    python benchmarks/onnx_aarch64.py --cpu cortex-a76 --steps 1000 --json out.json
    python benchmarks/onnx_aarch64.py --setup-only [--no-system-changes]
Exit status 1 if a check fails. Running it changes the system only if apt has no arm64 package
lists yet: dpkg --add-architecture arm64 and apt-get update (as root), unless --no-system-changes.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from importlib import metadata as importlib_metadata
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _args import nonnegative_int, output_dir, output_file, positive_int  # noqa: E402

HERE = Path(__file__).resolve().parent
RUNNER = HERE / "onnx_aarch64_runner.py"
DEFAULT_CACHE = HERE / "bin" / "aarch64-python"
GUEST_PYTHONS = ("3.11", "3.12", "3.13")

# Debian (12) arm64 packages: CPython and the shared libraries it, numpy and onnxruntime load.
# libc6 is included so that the root does not depend on a cross toolchain's sysroot.
LIBRARIES = ("libc6", "libgcc-s1", "libstdc++6", "libexpat1", "zlib1g", "libffi8", "libbz2-1.0",
             "liblzma5", "libssl3")

# CPU part numbers (MIDR) of the qemu CPU models offered, for the fake /proc/cpuinfo.
CPUS = {"cortex-a53": ("0xd03", "0x0", "4", "fp asimd evtstrm crc32 cpuid"),
        "cortex-a72": ("0xd08", "0x0", "3", "fp asimd evtstrm crc32 cpuid"),
        "cortex-a76": ("0xd0b", "0x4", "1", "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics "
                                            "fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp")}


def log(msg: str) -> None:
    print(f"[onnx_aarch64] {msg}", file=sys.stderr, flush=True)


def run(cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, text=True, **kw)


def run_or_exit(cmd, **kw) -> subprocess.CompletedProcess:
    """run, exiting with the command and its stderr if it fails."""
    try:
        return run(cmd, capture_output=True, **kw)
    except (subprocess.CalledProcessError, OSError) as err:
        sys.exit(f"onnx_aarch64: {' '.join(map(str, cmd[:4]))} ... failed: "
                 f"{getattr(err, 'stderr', None) or err}")


# -- the aarch64 environment ---------------------------------------------------------------------

class Env:
    def __init__(self, cache: Path, cpu: str):
        self.cache, self.cpu = cache, cpu
        self.root, self.site = cache / "root", cache / "site"
        self.marker = cache / "env.json"

    @property
    def info(self) -> dict:
        return json.loads(self.marker.read_text())

    def python_cmd(self) -> list:
        py = self.info["guest_python"]
        return ["qemu-aarch64", "-cpu", self.cpu, "-L", str(self.root),
                str(self.root / "usr" / "bin" / f"python{py}")]

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "LD_"))}
        env["PYTHONPATH"] = str(self.site)
        env["PYTHONNOUSERSITE"] = "1"
        env["OMP_NUM_THREADS"] = "1"
        return env

    def python(self, args, **kw) -> subprocess.CompletedProcess:
        return run(self.python_cmd() + list(args), env=self.env(), capture_output=True, **kw)


def _apt_candidate(pkg: str) -> bool:
    r = subprocess.run(["apt-cache", "policy", pkg], capture_output=True, text=True)
    return r.returncode == 0 and "Candidate:" in r.stdout and "Candidate: (none)" not in r.stdout


def _need_tool(name: str) -> None:
    if shutil.which(name) is None:
        sys.exit(f"onnx_aarch64: {name} not found (Debian: apt-get install qemu-user dpkg apt)")


def setup(env: Env, ort_version: str, numpy_version: str, force: bool = False,
          system_changes: bool = True) -> dict:
    """Build the cache if missing (or for other versions); return its env.json. With
    system_changes False, it neither adds the arm64 architecture to dpkg nor runs apt-get update:
    it exits if apt has no arm64 CPython."""
    for tool in ("qemu-aarch64",):
        _need_tool(tool)
    if env.marker.exists() and not force:
        info = env.info
        if info.get("onnxruntime") == ort_version and info.get("numpy") == numpy_version:
            write_cpuinfo(env.root, env.cpu)
            return info
    for tool in ("apt-get", "apt-cache", "dpkg"):
        _need_tool(tool)
    if env.cache.exists():
        shutil.rmtree(env.cache)
    debs, wheels = env.cache / "debs", env.cache / "wheels"
    for d in (debs, wheels, env.root, env.site):
        d.mkdir(parents=True)

    # 1. Debian's arm64 CPython and libraries, unpacked into one root
    guest = next((v for v in GUEST_PYTHONS if _apt_candidate(f"python{v}-minimal:arm64")), None)
    if guest is None and not system_changes:
        sys.exit("onnx_aarch64: apt knows no arm64 CPython (python3.1x-minimal:arm64); run "
                 "dpkg --add-architecture arm64 && apt-get update, or this script without "
                 "--no-system-changes")
    if guest is None:
        archs = run(["dpkg", "--print-foreign-architectures"], capture_output=True).stdout.split()
        if "arm64" not in archs:
            log("dpkg --add-architecture arm64 (needs root)")
            run(["dpkg", "--add-architecture", "arm64"])
        log("apt-get update (the arm64 package lists)")
        run_or_exit(["apt-get", "update", "-qq"])
        guest = next((v for v in GUEST_PYTHONS if _apt_candidate(f"python{v}-minimal:arm64")),
                     None)
        if guest is None:
            sys.exit("onnx_aarch64: no arm64 CPython package (python3.1x-minimal:arm64) in apt")
    pkgs = [f"python{guest}-minimal", f"libpython{guest}-minimal", f"libpython{guest}-stdlib",
            *LIBRARIES]
    log(f"apt-get download {' '.join(pkgs)} (arm64)")
    download = ["apt-get", "download", "-q"] + [f"{p}:arm64" for p in pkgs]
    try:
        run(download, cwd=debs, capture_output=True)
    except subprocess.CalledProcessError as err:
        if not system_changes:
            sys.exit(f"onnx_aarch64: apt-get download failed (stale package lists? "
                     f"apt-get update):\n{err.stderr}")
        log("apt-get download failed: apt-get update, then again")
        run_or_exit(["apt-get", "update", "-qq"])
        run_or_exit(download, cwd=debs)
    for deb in sorted(debs.glob("*.deb")):
        run_or_exit(["dpkg", "-x", str(deb), str(env.root)])
    write_cpuinfo(env.root, env.cpu)

    # 2. the aarch64 wheels of the host's onnxruntime and numpy
    tag = guest.replace(".", "")
    log(f"pip download onnxruntime=={ort_version} numpy=={numpy_version} (aarch64, cp{tag})")
    run_or_exit([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
         "--platform", "manylinux_2_28_aarch64", "--platform", "manylinux_2_27_aarch64",
         "--platform", "manylinux2014_aarch64", "--python-version", guest,
         "--implementation", "cp", "--abi", f"cp{tag}", "-d", str(wheels),
         f"onnxruntime=={ort_version}", f"numpy=={numpy_version}"])
    for whl in sorted(wheels.glob("*.whl")):
        with zipfile.ZipFile(whl) as z:
            z.extractall(env.site)

    # 3. check it imports under qemu
    info = {"guest_python": guest, "onnxruntime": ort_version, "numpy": numpy_version,
            "debs": sorted(p.name for p in debs.glob("*.deb")),
            "wheels": sorted(p.name for p in wheels.glob("*.whl"))}
    shutil.rmtree(debs)
    shutil.rmtree(wheels)  # unpacked; their names are in env.json
    env.marker.write_text(json.dumps(info, indent=1))
    try:
        r = env.python(["-c", "import platform, numpy, onnxruntime; print(platform.machine(), "
                              "numpy.__version__, onnxruntime.__version__)"])
    except subprocess.CalledProcessError as err:
        env.marker.unlink()
        sys.exit(f"onnx_aarch64: the aarch64 Python cannot import onnxruntime:\n{err.stderr}")
    log(f"aarch64 Python ready: {r.stdout.strip()}")
    return info


def write_cpuinfo(root: Path, cpu: str) -> None:
    """ROOT/proc/cpuinfo describing the emulated CPU, one entry per host CPU (the guest sees the
    host's /sys/devices/system/cpu)."""
    part, variant, revision, features = CPUS[cpu]
    n = os.cpu_count() or 1
    entry = ("processor\t: {i}\nBogoMIPS\t: 108.00\nFeatures\t: {f}\nCPU implementer\t: 0x41\n"
             "CPU architecture: 8\nCPU variant\t: {v}\nCPU part\t: {p}\nCPU revision\t: {r}\n")
    text = "\n".join(entry.format(i=i, f=features, v=variant, p=part, r=revision)
                     for i in range(n)) + "\n"
    (root / "proc").mkdir(exist_ok=True)
    (root / "proc" / "cpuinfo").write_text(text)


def qemu_version() -> str:
    out = run(["qemu-aarch64", "--version"], capture_output=True).stdout
    return out.splitlines()[0].strip()


# -- models --------------------------------------------------------------------------------------

# (name, rtu-edge train arguments); the actor-critics without the previous reward, the default
# network of the README's figures (before the gated sign became the default's input)
MODELS = (("cartpole-p ac", ["--task", "cartpole-p", "--steps", "{steps}",
                             "--prev-reward", "none"]),
          ("pendulum-p ac linear", ["--task", "pendulum-p", "--kind", "linear",
                                    "--steps", "{steps}", "--prev-reward", "none"]),
          ("trace-cond. td", ["--task", "trace-conditioning", "--steps", "{steps}"]))


def train_and_export(work: Path, train_steps: int, steps: int, seed: int) -> list:
    """Train, export and write the rollout (the observations, and the graph's prev_action and
    prev_reward inputs from the actions and rewards fed back); [(name, model, {variant: path},
    obs path, {input: path}, (actions, rewards))]."""
    from rtu_edge.cli import main as cli
    from rtu_edge.export import InferenceModel
    from rtu_edge.export import onnx_export as ox
    from rtu_edge.validate import rollout_feedback, rollout_observations

    out = []
    for i, (name, args) in enumerate(MODELS):
        run_dir = work / f"run{i}"
        errors = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(errors):
            code = cli(["train", "--out", str(run_dir), "--seed", str(seed), "--overwrite"]
                       + [a.format(steps=train_steps) for a in args])
        if code:
            sys.exit(f"onnx_aarch64: rtu-edge train {' '.join(args)} failed ({code}): "
                     f"{errors.getvalue().strip()}")
        model = InferenceModel.from_checkpoint(run_dir / "checkpoint.rtu")
        paths = {"f32": work / f"m{i}_f32.onnx", "int8": work / f"m{i}_int8.onnx",
                 "seq": work / f"m{i}_seq.onnx"}
        proto = ox.to_onnx(model, paths["f32"])
        ox.quantize_int8(proto, paths["int8"])
        ox.to_onnx(model, paths["seq"], sequence=True)
        obs_path = work / f"m{i}_obs.npy"
        np.save(obs_path, rollout_observations(model, steps, seed))
        feedback = rollout_feedback(model, steps, seed)
        inputs = {}
        for key, array in ox.previous_inputs(ox.metadata(proto), *feedback).items():
            inputs[key] = work / f"m{i}_{key}.npy"
            np.save(inputs[key], array)
        out.append((name, model, paths, obs_path, inputs, feedback))
    return out


def run_host(paths: dict, obs: np.ndarray, feedback: tuple) -> dict:
    """The host's onnxruntime on the same models: {variant: (outputs, states)}."""
    from rtu_edge.export import onnx_export as ox
    res = {}
    for variant, path in paths.items():
        res[variant] = ox.run_onnx(ox.load(path), obs, actions=feedback[0], rewards=feedback[1])
    return res


def deviation(out, states, ref_out, ref_states, floor):
    """validate.RunDeviation of the outputs and the state (the last len(states) of ref_states)."""
    from rtu_edge.validate import RunDeviation
    dev = RunDeviation(floor)
    dev.add("outputs", out, ref_out)
    dev.add("state", states, ref_states[-states.shape[0]:])
    return dev


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                   help="the aarch64 environment (default benchmarks/bin/aarch64-python)")
    p.add_argument("--cpu", choices=sorted(CPUS), default="cortex-a72",
                   help="qemu CPU model (default cortex-a72, a Raspberry Pi 4's)")
    p.add_argument("--steps", type=positive_int, default=1000,
                   help="rollout steps (default 1000)")
    p.add_argument("--train-steps", type=positive_int, default=10000,
                   help="training steps of each learner (default 10000)")
    p.add_argument("--seed", type=nonnegative_int, default=0)
    p.add_argument("--onnxruntime", default=None,
                   help="onnxruntime version for aarch64 (default: the host's)")
    p.add_argument("--setup-only", action="store_true")
    p.add_argument("--force-setup", action="store_true", help="rebuild the cache")
    p.add_argument("--no-system-changes", action="store_true",
                   help="never run dpkg --add-architecture arm64 or apt-get update: fail instead")
    p.add_argument("--keep", type=output_dir, default=None,
                   help="keep the models and outputs here")
    p.add_argument("--json", type=output_file, default=None, help="write the results as JSON")
    args = p.parse_args(argv)

    ort_version = args.onnxruntime or importlib_metadata.version("onnxruntime")
    np_version = np.__version__
    env = Env(args.cache.resolve(), args.cpu)
    t0 = time.perf_counter()
    info = setup(env, ort_version, np_version, args.force_setup, not args.no_system_changes)
    setup_s = time.perf_counter() - t0
    if args.setup_only:
        print(json.dumps(info, indent=1))
        return 0

    from rtu_edge.validate import INT8_RELATIVE_BOUND, ONNX_FLOOR, ONNX_TOLERANCE, run_c

    with contextlib.ExitStack() as stack:
        if args.keep:
            work = args.keep.resolve()
            work.mkdir(parents=True, exist_ok=True)
        else:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rtu_aarch64_")))
        models = train_and_export(work, args.train_steps, args.steps, args.seed)
        job = {"threads": 1, "result": str(work / "guest.json"), "models": []}
        for i, (_, _, paths, obs_path, inputs, _) in enumerate(models):
            for variant, path in paths.items():
                job["models"].append({"path": str(path), "obs": str(obs_path),
                                      "inputs": {k: str(v) for k, v in inputs.items()},
                                      "out": str(work / f"m{i}_{variant}_aarch64.npz"),
                                      "variant": "sequence" if variant == "seq" else "step"})
        (work / "job.json").write_text(json.dumps(job, indent=1))
        t1 = time.perf_counter()
        try:
            env.python([str(RUNNER), str(work / "job.json")])
        except subprocess.CalledProcessError as err:
            sys.exit(f"onnx_aarch64: the runner failed under qemu ({err.returncode}):\n"
                     f"{err.stderr}")
        guest_s = time.perf_counter() - t1
        guest = json.loads((work / "guest.json").read_text())

        rows, ok = [], True
        for i, (name, model, paths, obs_path, _, feedback) in enumerate(models):
            obs = np.load(obs_path)
            c_out, c_states = run_c(model, obs, *feedback)
            host = run_host(paths, obs, feedback)
            arm = {v: np.load(work / f"m{i}_{v}_aarch64.npz") for v in paths}
            row = {"model": name, "n_in": model.n_in, "n_hidden": model.n_hidden,
                   "n_out": model.n_out, "learner": model.learner, "kind": model.kind,
                   "activation": model.activation}
            for v in ("f32", "seq"):
                d = deviation(arm[v]["outputs"], arm[v]["states"], c_out, c_states, ONNX_FLOOR)
                row[f"{v}_vs_c"] = {"outputs": d.diff["outputs"], "state": d.diff["state"],
                                    "scale_outputs": d.scale["outputs"],
                                    "scale_state": d.scale["state"],
                                    "within": d.within(ONNX_TOLERANCE)}
                ok &= d.within(ONNX_TOLERANCE)
            d8 = deviation(arm["int8"]["outputs"], arm["int8"]["states"],
                           arm["f32"]["outputs"], arm["f32"]["states"], 0.0)
            # per output (row of the head) and the state, relative to the f32 model's scale
            f32o, i8o = arm["f32"]["outputs"], arm["int8"]["outputs"]
            for k in range(f32o.shape[1]):
                d8.add(f"output {k}", i8o[:, k], f32o[:, k])
            rel = [d8[f"output {k}"] for k in range(f32o.shape[1])]
            rel_state = d8["state"]
            row["int8_vs_f32"] = {"per_output": rel, "state": rel_state,
                                  "within": max(rel + [rel_state]) <= INT8_RELATIVE_BOUND}
            ok &= row["int8_vs_f32"]["within"]
            row["aarch64_vs_host_ort"] = {
                v: float(max(np.abs(arm[v]["outputs"] - host[v][0]).max(),
                             np.abs(arm[v]["states"] - host[v][1]).max())) for v in paths}
            t = arm["f32"]["times"][10:] * 1e6
            t8 = arm["int8"]["times"][10:] * 1e6
            row["us_per_step_f32"] = {"median": float(np.median(t)), "mean": float(t.mean())}
            row["us_per_step_int8"] = {"median": float(np.median(t8)), "mean": float(t8.mean())}
            row["seq_call_ms"] = float(arm["seq"]["times"][0] * 1e3)
            rows.append(row)

    environment = {"qemu": qemu_version(), "qemu_cpu": args.cpu,
                   "guest": guest, "host_onnxruntime": importlib_metadata.version("onnxruntime"),
                   "host_numpy": np.__version__, "rollout_steps": args.steps,
                   "train_steps": args.train_steps, "setup_s": round(setup_s, 1),
                   "guest_run_s": round(guest_s, 1)}
    print_report(rows, environment)
    if args.json:
        args.json.write_text(json.dumps({"environment": environment, "models": rows,
                                         "ok": bool(ok)}, indent=1))
    print("\nall checks pass" if ok else "\nA CHECK FAILED")
    return 0 if ok else 1


def print_report(rows, e) -> None:
    from rtu_edge.validate import INT8_RELATIVE_BOUND, ONNX_FLOOR, ONNX_TOLERANCE, formula
    g = e["guest"]
    print(f"aarch64: CPython {g['python']} ({g['machine']}), onnxruntime {g['onnxruntime']}, "
          f"numpy {g['numpy']}; {e['qemu']}, -cpu {e['qemu_cpu']}")
    print(f"host: onnxruntime {e['host_onnxruntime']}, numpy {e['host_numpy']}; rollout "
          f"{e['rollout_steps']} steps, state fed back, batch 1, 1 thread; learners trained "
          f"{e['train_steps']} steps")
    print(f"\nONNX on aarch64 vs the C float32 core: max |ONNX - C| (outputs / state), "
          f"pass: {formula(ONNX_FLOOR, 'ONNX', 'C')} <= {ONNX_TOLERANCE:g}")
    print(f"{'model':22s} {'n_in/n/out':>10s} {'step f32':>21s} {'Scan f32':>21s} "
          f"{'max|C| out/state':>17s}")
    for r in rows:
        f, s = r["f32_vs_c"], r["seq_vs_c"]
        print(f"{r['model']:22s} {r['n_in']:>3d}/{r['n_hidden']}/{r['n_out']:<3d} "
              f"{f['outputs']:.2e} / {f['state']:.2e}{' ok' if f['within'] else ' !!'} "
              f"{s['outputs']:.2e} / {s['state']:.2e}{' ok' if s['within'] else ' !!'} "
              f"{f['scale_outputs']:7.3g} / {f['scale_state']:.3g}")
    print(f"\nint8 vs float32, both on aarch64: max |int8 - f32| / max |f32| per output; state "
          f"(bound {INT8_RELATIVE_BOUND:.0%})")
    for r in rows:
        q = r["int8_vs_f32"]
        per = ", ".join(f"{v:.2%}" for v in q["per_output"])
        print(f"{r['model']:22s} {per}; state {q['state']:.2%}{' ok' if q['within'] else ' !!'}")
    print("\naarch64 vs host onnxruntime, max |diff| over outputs and states (information):")
    for r in rows:
        a = r["aarch64_vs_host_ort"]
        print(f"{r['model']:22s} f32 {a['f32']:.2e}, int8 {a['int8']:.2e}, Scan {a['seq']:.2e}")
    print("\nsession.run per step under qemu (EMULATED time on this x86 host, not an ARM board's;"
          " median / mean, us):")
    for r in rows:
        t, t8 = r["us_per_step_f32"], r["us_per_step_int8"]
        print(f"{r['model']:22s} f32 {t['median']:7.0f} / {t['mean']:7.0f}   "
              f"int8 {t8['median']:7.0f} / {t8['mean']:7.0f}   "
              f"Scan, {e['rollout_steps']} steps in one call: {r['seq_call_ms']:.0f} ms")
    print(f"\nsetup {e['setup_s']} s (cached after the first run), aarch64 run "
          f"{e['guest_run_s']} s")


if __name__ == "__main__":
    sys.exit(main())
