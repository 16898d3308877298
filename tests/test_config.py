"""One configuration per learner (rtu_edge/reference/config.py): the dataclasses fill the C structs
by field name, a checkpoint restores them, the CLI makes a flag of each field and config.json
records them, and what the C core refuses is named by field."""

import dataclasses
import json

import numpy as np
import pytest

from rtu_edge import ActorCritic, TDLambda
from rtu_edge._ccore import load_lib
from rtu_edge.checkpoint import read_dims
from rtu_edge.cli import main
from rtu_edge.reference.config import ACConfig, TDConfig, c_name


def rounded(cfg, dtype):
    """cfg as a learner of precision dtype holds it (its reals rounded to dtype)."""
    return dataclasses.replace(cfg, **{f.name: float(np.dtype(dtype).type(getattr(cfg, f.name)))
                                       for f in dataclasses.fields(cfg) if "rule" in f.metadata})


@pytest.mark.parametrize("cls,ctype", [(TDConfig, "rtu_td_config"), (ACConfig, "rtu_ac_config")])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dataclass_fields_are_the_c_struct_members_in_order(cls, ctype, dtype):
    ffi, _ = load_lib(np.dtype(dtype))
    members = [name for name, _ in ffi.typeof(ctype).fields]
    assert members == [c_name(f.name) for f in dataclasses.fields(cls)]


@pytest.mark.parametrize("backend,dtype", [("c", np.float32), ("c", np.float64),
                                           ("reference", np.float64)])
def test_config_reaches_the_learner_and_its_checkpoint(backend, dtype):
    cfg = ACConfig(gamma=0.95, lambda_=0.5, entropy_coef=0.07, normalize_obs=False)
    ac = ActorCritic(2, 4, 2, backend=backend, dtype=dtype, config=cfg, kappa_policy=4.0)
    assert ac.config == rounded(dataclasses.replace(cfg, kappa_policy=4.0), dtype)
    fresh = ActorCritic(2, 4, 2, backend=backend, dtype=dtype)
    fresh.load_bytes(ac.checkpoint_bytes())
    assert fresh.config == ac.config
    td = TDLambda(3, 4, backend=backend, dtype=dtype, config=TDConfig(gamma=0.5), alpha=0.25)
    assert td.config == rounded(TDConfig(gamma=0.5, alpha=0.25), dtype)


def test_unknown_hyperparameters_and_wrong_config_types_are_refused():
    with pytest.raises(TypeError, match="entropy"):
        TDLambda(3, 4, entropy_coef=0.1)
    with pytest.raises(ValueError, match="config must be a TDConfig"):
        TDLambda(3, 4, config=ACConfig())
    with pytest.raises(ValueError, match="normalize_obs must be a bool"):
        ACConfig(normalize_obs=2)


def test_read_dims_reads_what_a_checkpoint_holds():
    ac = ActorCritic(2, 5, 3, kind="nonlinear", dtype=np.float32, seed=3)
    ac.act(np.zeros(2))
    ac.learn(1.0, np.ones(2), False, False)
    data = ac.checkpoint_bytes()
    dims = read_dims(data)
    assert (dims.learner, dims.precision, dims.kind, dims.activation, dims.n_in, dims.n_hidden,
            dims.action_kind, dims.n_actions, dims.steps, dims.bytes) == \
        ("actor-critic", 4, "nonlinear", "tanh", 2, 5, "discrete", 3, 1, len(data))
    td = read_dims(TDLambda(3, 4, kind="linear").checkpoint_bytes())
    assert (td.learner, td.precision, td.kind, td.n_in, td.n_hidden, td.n_actions) == \
        ("td", 8, "linear", 3, 4, 0)
    with pytest.raises(ValueError, match="unexpected bytes"):
        read_dims(data + b"\0", "x.rtu")


def test_train_flags_reach_the_learner_and_config_json(tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--task", "trace-conditioning", "--steps", "300", "--hidden", "4",
                 "--out", str(out), "--lambda", "0.5", "--alpha", "0.5"]) == 0
    saved = json.loads((out / "config.json").read_text())["learner"]
    assert saved == dataclasses.asdict(TDConfig(gamma=saved["gamma"], lambda_=0.5, alpha=0.5))
    td = TDLambda.from_checkpoint(out / "checkpoint.rtu")
    assert td.config == rounded(TDConfig(**saved), np.float32)  # the CLI's default precision


def test_a_flag_of_the_other_learner_is_refused(tmp_path, capsys):
    assert main(["train", "--task", "trace-conditioning", "--steps", "10", "--out",
                 str(tmp_path / "r"), "--entropy-coef", "0.1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--entropy-coef" in err and "control tasks" in err


def test_the_generated_c_config_header_is_current():
    """c_src/rtu_config.h (the C structs' members, defaults and rules) is what
    c_src/make_config.py writes from the dataclasses: run it after changing a field."""
    import pathlib

    from rtu_edge.reference.config import c_header
    committed = pathlib.Path(__file__).resolve().parent.parent / "c_src" / "rtu_config.h"
    assert committed.read_text() == c_header(), "run python c_src/make_config.py"


@pytest.mark.parametrize("cls,fn", [(TDConfig, "rtu_td_default_config"),
                                    (ACConfig, "rtu_ac_default_config")])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_c_defaults_are_the_dataclass_defaults_rounded(cls, fn, dtype):
    from rtu_edge._ccore import config_from_struct
    _, lib = load_lib(np.dtype(dtype))
    assert config_from_struct(cls, getattr(lib, fn)()) == rounded(cls(), dtype)
