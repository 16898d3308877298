"""The default install's AVX2 variant of the C core (rtu_edge/_build.py) computes the same bits as
the baseline build: learners of every kind, precision and network, the batched learners and the
exported model, run once on the variant and once with RTU_EDGE_KERNELS=default, leave byte-equal
checkpoints and outputs. Skipped where the variant does not run (another CPU, the native build)."""

import os
import subprocess
import sys

import pytest

from rtu_edge import c_build

RUN = r"""
import hashlib, sys, tempfile
from pathlib import Path
import numpy as np
from rtu_edge import (ACNetwork, ActorCritic, ActorCriticBatch, TDLambda, TDLambdaBatch,
                      c_build)
from rtu_edge.export import CModel, CModelBatch, InferenceModel

digest = hashlib.sha256()
rng = np.random.default_rng(7)
work = Path(tempfile.mkdtemp())


def add(learner, name):
    learner.save(work / name)
    digest.update((work / name).read_bytes())


for dtype in (np.float32, np.float64):
    for kind in ("linear", "nonlinear", "lru"):
        td = TDLambda(5, 12, kind=kind, seed=1, dtype=dtype)
        for t in range(300):
            td.step(rng.normal(size=5), float(rng.normal()))
        add(td, f"td-{kind}-{np.dtype(dtype).name}.rtu")
    networks = [ACNetwork(), ACNetwork(n_embed=16, n_head=16, prev_action=True,
                                       prev_reward="normalized", shared=True)]
    for action_kind in ("discrete", "continuous"):
        for i, network in enumerate(networks):
            ac = ActorCritic(3, 20, 2, action_kind=action_kind, kind="nonlinear" if i else
                             "linear", seed=2, dtype=dtype, network=network)
            obs = rng.normal(size=3)
            for t in range(300):
                ac.act(obs)
                ended, nxt = t % 97 == 96, rng.normal(size=3)
                ac.learn(float(rng.normal()), nxt, ended, False)
                obs = rng.normal(size=3) if ended else nxt
            add(ac, f"ac-{action_kind}-{i}-{np.dtype(dtype).name}.rtu")
            model = InferenceModel.from_learner(ac)
            single, batch = CModel(model, dtype), CModelBatch(model, 5, dtype)
            for t in range(50):
                digest.update(single.step(rng.normal(size=3)).tobytes())
                digest.update(batch.step(rng.normal(size=(5, 3))).tobytes())
acb = ActorCriticBatch(3, 16, 2, seeds=range(4))
tdb = TDLambdaBatch(3, 16, seeds=range(4))
obs = rng.normal(size=(4, 3))
for t in range(200):
    digest.update(acb.act(obs).tobytes())
    obs = rng.normal(size=(4, 3))
    acb.learn(rng.normal(size=4), obs, np.zeros(4, bool), np.zeros(4, bool))
    digest.update(tdb.step(rng.normal(size=(4, 3)), rng.normal(size=4)).tobytes())
for i in range(4):
    add(acb.learner(i), f"acb-{i}.rtu")
    add(tdb.learner(i), f"tdb-{i}.rtu")
print(c_build(), digest.hexdigest())
"""


def run(kernels: str) -> list:
    env = {**os.environ, "RTU_EDGE_KERNELS": kernels}
    result = subprocess.run([sys.executable, "-c", RUN], env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.split()


@pytest.mark.skipif(c_build() != "avx2", reason="the AVX2 variant does not run here "
                    f"(C core: {c_build()} build)")
def test_avx2_variant_computes_the_baseline_bits():
    variant, baseline = run(""), run("default")
    assert variant[0] == "avx2" and baseline[0] == "default"
    assert variant[1] == baseline[1]


def test_kernels_variable_takes_only_default():
    result = subprocess.run([sys.executable, "-m", "rtu_edge", "--version"],
                            env={**os.environ, "RTU_EDGE_KERNELS": "fast"}, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == ("rtu-edge: error: RTU_EDGE_KERNELS must be default (or unset), "
                             "got 'fast'\n")
