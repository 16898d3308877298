"""The learning results are sweeps of the engine (benchmarks/sweeps/*.toml): every file loads and
names tasks and settings the package has, and the results sweeps run on seeds that no setting was
chosen on. (The engine itself runs end to end in tests/test_sweep.py.)"""

import pathlib

import pytest

from rtu_edge.sweep import load

SWEEPS = sorted((pathlib.Path(__file__).resolve().parent.parent / "benchmarks" /
                 "sweeps").glob("*.toml"))


def test_there_are_benchmark_sweeps():
    assert {p.stem for p in SWEEPS} >= {"trace", "cartpole", "popgym", "popgym_2m", "baselines",
                                        "suite", "compare", "network_settings", "memory_settings",
                                        "trace_settings"}


@pytest.mark.parametrize("path", SWEEPS, ids=[p.stem for p in SWEEPS])
def test_benchmark_sweep_files_load(path):
    pytest.importorskip("gymnasium")
    if "popgym" in path.read_text():
        pytest.importorskip("popgym")
    sweep = load(path)
    assert sweep.configs and len(sweep.seeds) >= 5
    if not path.stem.endswith("_settings"):  # the settings sweeps: tuning seeds (0-9, 0-19)
        assert len(sweep.seeds) >= 20 and min(sweep.seeds) >= 100


def test_the_results_sweeps_hold_out_the_tuning_seeds():
    tuning = set().union(*(load(p).seeds for p in SWEEPS if p.stem.endswith("_settings")))
    assert tuning
    for name in ("trace", "cartpole", "popgym", "popgym_2m", "baselines", "suite", "compare"):
        assert not tuning & set(load(SWEEPS[0].with_name(f"{name}.toml")).seeds), name
