"""Runs exported rtu_edge ONNX models on onnxruntime; numpy and onnxruntime only, no rtu_edge.

benchmarks/onnx_aarch64.py runs this file under qemu-aarch64 with an aarch64 CPython and
onnxruntime's aarch64 wheel:

    python onnx_aarch64_runner.py JOB.json

JOB.json: {"threads": 1, "models": [{"name", "path", "obs" (a .npy file, (T, n_in) float32),
"inputs" ({input name: a .npy file, (T, width)}: the graph's prev_action and prev_reward inputs
at each step, if it has them), "out" (a .npz file to write), "variant": "step" or "sequence"}],
"result": RESULT.json}.

The step variant runs T steps at batch 1 from the zero state, state_out fed back as the next
state, and times each session.run; the sequence variant makes one call with obs [T, 1, n_in]
(and each input [T, 1, width]). Each .npz holds the per-step outputs (the graph's outputs except
state_out) in the graph's order concatenated into "outputs" (T, n_out), the states after each
step ("states", (T, S); the sequence variant: the final state, (1, S)) and the per-call times in
seconds.
RESULT.json: the versions and the machine this ran on.
"""

import json
import platform
import sys
import time

import numpy as np
import onnxruntime as ort


def run_model(spec, threads):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(spec["path"], sess_options=opts,
                                providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    per_step = [i for i, n in enumerate(names) if n != "state_out"]
    i_state = names.index("state_out")
    n_state = [i.shape for i in sess.get_inputs() if i.name == "state"][0][-1]
    obs = np.load(spec["obs"]).astype(np.float32)
    extras = {k: np.load(v).astype(np.float32) for k, v in spec.get("inputs", {}).items()}
    state = np.zeros((1, n_state), dtype=np.float32)
    clock = time.perf_counter
    if spec.get("variant", "step") == "sequence":
        feeds = {"obs": np.ascontiguousarray(obs[:, None, :]), "state": state}
        feeds.update({k: np.ascontiguousarray(v[:, None, :]) for k, v in extras.items()})
        t0 = clock()
        r = sess.run(None, feeds)
        times = [clock() - t0]
        outputs = np.concatenate([r[i][:, 0, :] for i in per_step], axis=1)
        states = r[i_state]
    else:
        outs, states, times = [], [], []
        for t in range(len(obs)):
            feeds = {"obs": obs[t:t + 1], "state": state}
            feeds.update({k: v[t:t + 1] for k, v in extras.items()})
            t0 = clock()
            r = sess.run(None, feeds)
            times.append(clock() - t0)
            state = r[i_state]
            outs.append(np.concatenate([r[i] for i in per_step], axis=1)[0])
            states.append(state[0])
        outputs, states = np.array(outs), np.array(states)
    np.savez(spec["out"], outputs=outputs, states=states, times=np.array(times),
             names=np.array([names[i] for i in per_step]))


def main(job_path):
    with open(job_path) as f:
        job = json.load(f)
    for spec in job["models"]:
        run_model(spec, job.get("threads", 1))
    info = {"machine": platform.machine(), "python": platform.python_version(),
            "numpy": np.__version__, "onnxruntime": ort.__version__,
            "providers": ort.get_available_providers()}
    with open(job["result"], "w") as f:
        json.dump(info, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
