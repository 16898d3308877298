"""rtu_edge/validate.py: the one deviation metric, the learner check (and the demo's parity line
through it), and `rtu-edge validate --learners`."""

import numpy as np
import pytest

from rtu_edge.cli import main
from rtu_edge.reference import KINDS
from rtu_edge.reference.config import ACNetwork
from rtu_edge.validate import (LEARNER_TOLERANCE, ONNX_FLOOR, LearnerReport, RunDeviation,
                               actor_critic_parity, formula, td_parity)


def test_deviation_is_relative_to_the_largest_reference_value_over_the_run():
    dev = RunDeviation()
    dev.add("x", [1.0, 2.0], [1.0, 2.5])    # |diff| 0.5, scale 2.5
    dev.add("x", [4.0], [3.0])              # |diff| 1, scale 3
    dev.add("y", [0.0, 1e-3], [0.0, 0.0])   # reference zero throughout: the absolute difference
    dev.add("z", np.zeros(0), np.zeros(0))  # no values: nothing recorded
    assert dev.diff == {"x": 1.0, "y": 1e-3} and dev.scale == {"x": 3.0, "y": 0.0}
    assert dev["x"] == 1.0 / 3.0 and dev["y"] == 1e-3 and dev.worst() == 1.0 / 3.0
    assert dev.within(0.34) and not dev.within(0.33)
    assert RunDeviation().worst() == 0.0
    assert formula(0) == "max|C - ref| / max|ref|"
    assert formula(1, "ONNX", "C") == "max|ONNX - C| / max(1, max|C|)"


def test_a_nan_or_inf_fails_whatever_the_tolerance():
    for a, ref in (([np.nan, 1.0], [1.0, 1.0]), ([1.0], [np.inf])):
        dev = RunDeviation(floor=1.0)
        dev.add("x", [0.5], [0.5])
        dev.add("x", a, ref)
        dev.add("x", [0.5], [0.5])  # a later finite step does not hide it
        assert dev["x"] == np.inf and not dev.within(1e300)


def test_onnx_tolerance_is_absolute_up_to_unit_scale_then_relative():
    """(From tests/test_export_onnx.py, where the rule was onnx_export.Deviation.within.)"""
    def onnx_dev(out_diff, state_diff, out_scale, state_scale):
        dev = RunDeviation(ONNX_FLOOR)
        dev.add("outputs", [out_scale + out_diff], [out_scale])
        dev.add("state", [state_scale + state_diff], [state_scale])
        return dev

    assert onnx_dev(9e-6, 1e-6, 0.5, 0.5).within(1e-5)
    assert not onnx_dev(2e-5, 1e-6, 0.5, 0.5).within(1e-5)      # values ~1: absolute
    assert onnx_dev(2e-5, 1e-6, 29.0, 0.5).within(1e-5)         # values ~29: 2.9e-4
    assert not onnx_dev(4e-4, 1e-6, 29.0, 0.5).within(1e-5)
    nan = RunDeviation(ONNX_FLOOR)
    nan.add("outputs", [float("nan")], [1.0])
    nan.add("state", [1.0], [1.0])
    assert not nan.within(1e-5)


def test_learners_on_the_c_core_follow_their_references():
    for kind in KINDS:
        td = td_parity(seed=1, steps=300, n_hidden=8, kind=kind)
        readout = {"params[c_re]", "params[c_im]", "params[d_skip]"} if kind == "lru" else set()
        assert td.passed and set(td.deviation.diff) == {
            "prediction", "params[nu_log]", "params[theta_log]", "params[w_c]", "params[w_d]",
            "params[w]", "params[b]"} | readout
        assert td.deviation.worst() <= LEARNER_TOLERANCE and td.actions_equal is None
        for task, network in (("cartpole-p", None), ("cartpole-p", ACNetwork(shared=True)),
                              ("pendulum-p", None)):
            ac = actor_critic_parity(seed=1, steps=300, n_hidden=8, kind=kind, float32_steps=50,
                                     task=task, network=network)
            assert ac.passed and ac.actions_equal and ac.deviation.worst() <= LEARNER_TOLERANCE
            assert 0 <= ac.float32_same_actions <= 50
            assert ac.network == ("shared" if network else "separate") and ac.task == task
            assert "params[actor.W_2]" in ac.deviation.diff


def test_the_actor_critic_check_restarts_from_the_references_state_every_window():
    # Pendulum-P with heads of 64 units at seed 0: run free (window=0) the loop of acting and
    # learning amplifies rounding to 1.5e-6 by step 1000; window by window it stays at rounding
    ac = actor_critic_parity(seed=0, steps=1000, task="pendulum-p", network=ACNetwork(n_head=64),
                             float32_steps=0)
    assert ac.passed and ac.deviation.worst() < 1e-12 and ac.float32_same_actions == 0
    with pytest.raises(ValueError, match="window must be >= 0"):
        actor_critic_parity(steps=10, window=-1)


def test_a_learner_report_fails_on_a_deviation_or_a_different_action():
    close, far = RunDeviation(), RunDeviation()
    close.add("params[w]", [1.0 + 1e-11], [1.0])
    far.add("params[w]", [1.0 + 1e-7], [1.0])
    assert LearnerReport("td", "t", "linear", "relu", 1, close).passed
    assert not LearnerReport("td", "t", "linear", "relu", 1, far).passed
    assert not LearnerReport("actor-critic", "t", "linear", "tanh", 1, close, False).passed


def test_the_demos_parity_line_is_the_learner_check():
    from rtu_edge.commands import DEMO_PARITY_TOLERANCE, parity_prefix
    check = parity_prefix(2, steps=300)
    assert set(check) == {"steps", "actions_equal", "param_deviation", "float32_same_actions"}
    assert check["steps"] == 300 and check["actions_equal"]
    assert 0 < check["param_deviation"] < DEMO_PARITY_TOLERANCE == LEARNER_TOLERANCE
    assert check["float32_same_actions"] <= 200


def test_validate_learners_command(capsys):
    assert main(["validate", "--learners", "--steps", "200", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "td" in out and "actor-critic" in out and "pendulum-p" in out and "shared" in out
    assert f"{4 * len(KINDS)} passed, 0 failed" in out  # TD and three actor-critics per kind
    # its refused combinations of options are in tests/test_cli.py
