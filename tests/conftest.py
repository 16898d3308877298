import numpy as np
import pytest

from rtu_edge import RTUCell

BACKENDS = [("c", np.float32), ("c", np.float64), ("reference", np.float64)]


@pytest.fixture(params=BACKENDS, ids=["c-f32", "c-f64", "reference"])
def backend(request):
    """(backend, dtype) pairs that RTUCell accepts."""
    return request.param


def snapshot(cell: RTUCell) -> dict:
    """Everything a cell holds: parameters, state and traces (copies)."""
    return {**{"p_" + k: v for k, v in cell.params.items()}, **cell.state, **cell.traces}


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k]), k
