"""The ``rtu-edge`` command line."""

from __future__ import annotations

import argparse
import sys

from . import __version__, c_build
from ._extras import MissingExtra
from .reference.cell import ACTIVATIONS, KINDS, MAX_DIM, is_seed
from .train import DEFAULT_BPTT_WINDOW, PREDICTION_TASKS

DEMO_STEPS = 500000
#: the first of the seeds on which the learning results hold out the default network (180-219,
#: phase_step_default.toml): not chosen for its curve
DEMO_SEED = 180


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _dim(text: str) -> int:
    """A size of a cell (n_in, n_hidden): 1 .. MAX_DIM (RTU_MAX_DIM)."""
    value = _positive_int(text)
    if value > MAX_DIM:
        raise argparse.ArgumentTypeError(f"at most {MAX_DIM} (RTU_MAX_DIM), got {text!r}")
    return value


def _size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer seed, got {text!r}") from None
    if not is_seed(value):
        raise argparse.ArgumentTypeError(f"seed must be in [0, 2**64), got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rtu-edge",
        description="Recurrent Trace Units with exact RTRL: C core, numpy reference, validation.")
    parser.add_argument("--version", action="version",
                        version=f"rtu-edge {__version__} (C core: {c_build()} build)")
    sub = parser.add_subparsers(dest="command", required=True)

    val = sub.add_parser(
        "validate", help="check the C core against the numpy reference, step by step",
        description="Run the C core (float64 and float32 builds) and the numpy reference side by "
                    "side on random cells and inputs, every kind and activation, and print "
                    "the largest deviations of state, features, traces and gradients. Exits 1 if "
                    "any exceeds its tolerance (1e-10 for float64, 1e-4 for float32). --learners "
                    "and --onnx run the learner and the ONNX checks instead; all use one "
                    "deviation, max|a - ref| / max(floor, max|ref|) per array over the run "
                    "(rtu_edge/validate.py).")
    val.add_argument("--steps-f64", type=_positive_int, default=1000,
                     help="steps for the float64 build (default 1000)")
    val.add_argument("--steps-f32", type=_positive_int, default=10000,
                     help="steps for the float32 build (default 10000)")
    val.add_argument("--seed", type=_seed, default=0, help="seed of cells and inputs (default 0)")
    val.add_argument("--n-in", type=_dim, default=7, help="input size (default 7)")
    val.add_argument("--n-hidden", type=_dim, default=13,
                     help="units per cell (default 13)")
    val.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    val.add_argument("--onnx", metavar="FILE",
                     help="instead: check an exported ONNX model (rtu-edge export) on "
                          "onnxruntime and the ONNX reference evaluator against the C core in "
                          "float32 over a rollout with the state fed back; exits 1 beyond 1e-5 "
                          "(int8 models: beyond their documented relative bound)")
    val.add_argument("--checkpoint", metavar="FILE",
                     help="with --onnx: the checkpoint the model came from (default: the "
                          "weights in the ONNX file; required for int8 models)")
    val.add_argument("--steps", type=_positive_int, default=None,
                     help="with --onnx: rollout steps; with --learners: learning steps "
                          "(default 1000)")
    val.add_argument("--learners", action="store_true",
                     help="instead: check TD(lambda) and the actor-critic on the C core "
                          "(float64) against the numpy reference, every kind, 1000 steps of "
                          "trace conditioning, CartPole with hidden velocities (separate and "
                          "shared networks) and Pendulum-P (the actor-critic restarted from the "
                          "reference's state every 100 steps); exits 1 beyond 1e-9 or if an "
                          "action differs")

    tr = sub.add_parser(
        "train", help="train an RTU learner online on a task",
        description="Train online: TD(lambda) on trace-conditioning or trace-patterning, the "
                    "streaming actor-critic on cartpole-p, pendulum-p, a gymnasium id or "
                    "popgym:<Name>. Writes config.json, metrics.csv, curve.png and "
                    "checkpoint.rtu (with --algo ppo also adam.rtu, Adam's state) into --out; "
                    "Ctrl-C stops at a safe point with a checkpoint.")
    _learner_arguments(tr, steps_default=None, required=False)
    tr.add_argument("--config", metavar="FILE",
                    help="repeat a run: every setting from FILE, a run's config.json (then give "
                         "only --out); instead of --task, --steps and the other flags")
    tr.add_argument("--out", required=True, metavar="DIR", help="run directory")
    tr.add_argument("--agent", choices=("rtu", "memoryless", "gru", "random", "zero", "lookup"),
                    default="rtu",
                    help="what learns: the RTU learner (default), or a baseline of "
                         "rtu_edge.baselines: the same learner without memory "
                         "(memoryless), the same learner with a GRU trained by truncated BPTT "
                         "(gru, numpy), a random policy (control tasks), predicting zero or "
                         "the pattern-aware lookup table (prediction tasks); of the baselines "
                         "only the memoryless actor-critic keeps a checkpoint")
    tr.add_argument("--algo", choices=("ac", "ppo"), default="ac",
                    help="control tasks: how the network learns: the streaming actor-critic "
                         "AC(lambda) (ac, default), or PPO with RTRL on --n-envs environments "
                         "(ppo; its checkpoint is an actor-critic's: the hand-off)")
    tr.add_argument("--bptt-window", type=_positive_int, default=None, metavar="T",
                    help="--agent gru: the steps truncated BPTT goes back through (default "
                         f"{DEFAULT_BPTT_WINDOW}); --hidden is the GRU's size")
    tr.add_argument("--resume", action="store_true",
                    help="continue the run in --out as it was: its settings come from its "
                         "config.json (--task and --steps may be left out; --steps, "
                         "--checkpoint-every and --backend may change; another flag given with "
                         "another value than recorded is refused)")
    tr.add_argument("--overwrite", action="store_true",
                    help="replace the run already in --out (without it, a run directory that "
                         "holds a run is refused: --resume continues it)")
    tr.add_argument("--tensorboard", action="store_true",
                    help="also log the metrics as TensorBoard scalars in --out/tensorboard "
                         "(pip install 'rtu_edge[tensorboard]'); view with tensorboard "
                         "--logdir DIR")
    tr.add_argument("--checkpoint-every", type=_positive_int, default=50000, metavar="N",
                    help="checkpoint every N steps (control tasks: at the next episode end)")
    tr.add_argument("--log-every", type=_positive_int, default=10000, metavar="N",
                    help="prediction tasks: steps per metrics row (default 10000)")
    _hyperparameter_arguments(tr)
    _ppo_arguments(tr)

    ev = sub.add_parser(
        "eval", help="run a trained learner from a checkpoint",
        description="Load a checkpoint and run it, learning online as it would when deployed: "
                    "the MSRE on a fresh stream (prediction) or the return over episodes "
                    "(control). The checkpoint file is not changed.")
    ev.add_argument("--checkpoint", required=True, metavar="FILE")
    ev.add_argument("--task", required=True)
    ev.add_argument("--episodes", type=_positive_int, default=20, help="control tasks")
    ev.add_argument("--steps", type=_positive_int, default=20000, help="prediction tasks")
    ev.add_argument("--seed", type=_seed, default=1, help="seed of the evaluation stream")
    ev.add_argument("--backend", choices=("c", "reference"), default="c")

    demo = sub.add_parser(
        "demo", help="about a minute: learn CartPole with hidden velocities on the C core",
        description="Train the streaming actor-critic with an RTU on CartPole whose velocities "
                    "are hidden, with the C core; check the C learner against the numpy "
                    "reference on a prefix of the run; show the learning curve; write a "
                    "checkpoint.")
    demo.add_argument("--out", default="rtu-edge-demo", metavar="DIR",
                      help="run directory (default ./rtu-edge-demo; an earlier demo's run in "
                         "it is replaced, another run refused)")
    demo.add_argument("--steps", type=_positive_int, default=DEMO_STEPS)
    demo.add_argument("--seed", type=_seed, default=DEMO_SEED)

    _sweep_arguments(sub)

    ex = sub.add_parser(
        "export", help="export a trained checkpoint for deployment: ONNX or a C header",
        description="Freeze a checkpoint's inference step (the RTU, its heads and the "
                    "observation normalisation; no learning) and write it as an ONNX model for "
                    "onnxruntime (--onnx, float32; --int8, quantized) and/or a C header for "
                    "firmware on the C core's rtu_model.h (--c-header).")
    ex.add_argument("--checkpoint", required=True, metavar="FILE",
                    help="a TD(lambda) or actor-critic checkpoint (rtu-edge train)")
    ex.add_argument("--onnx", metavar="OUT.onnx",
                    help="write the ONNX model (float32, opset 17): inputs obs, state; outputs "
                         "the heads and state_out")
    ex.add_argument("--sequence", action="store_true",
                    help="with --onnx: a whole episode per call (a Scan over time, time-major "
                         "obs [time, batch, n_in]) instead of one step")
    ex.add_argument("--int8", metavar="OUT_INT8.onnx",
                    help="with --onnx: also write the model with int8 weights (onnxruntime "
                         "dynamic quantization)")
    ex.add_argument("--c-header", metavar="OUT.h",
                    help="write a C header defining the weights and an rtu_model (rtu_model.h)")
    ex.add_argument("--name", default="model",
                    help="C identifier of the model in the header (default model)")
    return parser


def _seeds(text: str) -> list:
    """A seed (7) or a range of seeds (0:10, stop excluded; rtu_edge.sweep.seed_range)."""
    from .sweep import seed_range
    start, colon, stop = text.partition(":")
    if not colon:
        return [_seed(text)]
    try:
        first, last = int(start), int(stop)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a seed (7) or a range of seeds (0:10), got "
                                         f"{text!r}") from None
    try:
        return seed_range(first, last)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r}: {err}") from None


def _sweep_arguments(sub) -> None:
    from .sweep import ENGINES
    sw = sub.add_parser(
        "sweep", help="run a grid of training runs over seeds; summarize them",
        description="Run every configuration of a sweep FILE (TOML or JSON: seeds, optional "
                    "defaults, and [[configs]] each with a label, task, steps and any of agent, "
                    "hidden, kind, activation, dtype, log_every and the learner hyperparameters) "
                    "on every "
                    "seed, each run as `rtu-edge train` does it, into DIR/runs/<label>/seed-<s>/; "
                    "one row per finished run goes to DIR/results.csv. Rerunning the same "
                    "command skips the runs the table holds. --report prints the summary per "
                    "configuration (mean and median final score with 95% bootstrap intervals, "
                    "fractions reaching the task's threshold and collapsing) and writes "
                    "DIR/report.md and learning curves DIR/plots/*.png; without FILE it only "
                    "reports.")
    sw.add_argument("file", nargs="?", metavar="FILE", help="the sweep file (.toml or .json)")
    sw.add_argument("--out", required=True, metavar="DIR", help="the sweep's directory")
    sw.add_argument("--report", action="store_true",
                    help="summarize DIR/results.csv (after the runs, if FILE is given)")
    sw.add_argument("--versus", metavar="LABEL",
                    help="with --report: compare every configuration with LABEL seed by seed "
                         "(paired differences with a 95%% bootstrap interval)")
    sw.add_argument("--engine", choices=ENGINES, default=None,
                    help="joblib: processes on this machine (default); ray: a Ray instance "
                         "(pip install 'rtu_edge[ray]'), local unless --address")
    sw.add_argument("--address", metavar="ADDR",
                    help="with --engine ray: an existing Ray cluster (e.g. auto or "
                         "ray://host:10001); DIR must be on a file system its nodes share")
    sw.add_argument("--jobs", type=_positive_int, default=None, metavar="N",
                    help="runs at a time (default: one per core; ray with --address: no limit)")
    sw.add_argument("--seeds", type=_seeds, nargs="+", default=None, metavar="S",
                    help="instead of the file's seeds: seeds (0 1 2) and ranges (0:10, stop "
                         "excluded)")
    sw.add_argument("--only", nargs="+", default=None, metavar="PATTERN",
                    help="only the configurations whose label matches one of these shell-style "
                         "patterns ('tc-rtu-*' 'tc-zero'); each must match a label")


def _hyperparameter_arguments(p: argparse.ArgumentParser) -> None:
    """A flag for each field of the learners' configs (TDConfig, ACConfig): --gamma, --lambda,
    --kappa-policy, --normalize-obs / --no-normalize-obs...; and of the actor-critic's network
    (ACNetwork): --n-embed, --shared / --no-shared...; a flag not given keeps the default. Their
    values go to RunConfig.learner and RunConfig.network under the field names."""
    import dataclasses

    from .reference.config import ACConfig, ACNetwork, TDConfig, c_name
    group = p.add_argument_group(
        "learner hyperparameters", "defaults: TD(lambda) on prediction tasks (gamma: the "
        "task's), the actor-critic (stream-x's) on control tasks")
    seen = {}
    for cls in (TDConfig, ACConfig):
        for f in dataclasses.fields(cls):
            seen.setdefault(f.name, []).append((cls, f))
    for name, owners in seen.items():
        cls, f = owners[0]
        learners = " and ".join("TD(lambda)" if c is TDConfig else "actor-critic"
                                for c, _ in owners)
        defaults = ", ".join(f"{getattr(c(), name)}" for c, _ in owners)
        text = f"{learners}: {f.metadata['help']}, {cls.rule(name)} (default {defaults})"
        _field_argument(group, f, c_name(name), f"hp_{name}", text)


    net = p.add_argument_group(
        "actor-critic network", "control tasks: the network around the RTU (ACNetwork; "
        "defaults: the package's)")
    for f in dataclasses.fields(ACNetwork):
        _field_argument(net, f, f.name, f"net_{f.name}", f"{f.metadata['help']} (default "
                                                         f"{f.default})")


def _field_argument(group, f, name: str, dest: str, text: str) -> None:
    """The flag --name (underscores as dashes) of a config field f (rtu_edge/reference/config.py:
    a choice, a size, a real or a flag), stored in dest, None when not given."""
    flag = "--" + name.replace("_", "-")
    if "choices" in f.metadata:
        group.add_argument(flag, dest=dest, choices=f.metadata["choices"], default=None,
                           help=text)
    elif "size" in f.metadata:
        group.add_argument(flag, dest=dest, type=_size, default=None, metavar="N", help=text)
    elif "rule" in f.metadata:
        group.add_argument(flag, dest=dest, type=float, default=None, metavar="X", help=text)
    else:
        group.add_argument(flag, dest=dest, action=argparse.BooleanOptionalAction, default=None,
                           help=text)


def _ppo_arguments(p: argparse.ArgumentParser) -> None:
    """A flag for each field of PPOConfig (--n-envs, --clip-coef, --fresh-state /
    --no-fresh-state...); a flag not given keeps the default. Their values go to RunConfig.ppo."""
    import dataclasses

    from .reference.config import PPOConfig
    group = p.add_argument_group("PPO", "--algo ppo: the rollout, the loss and Adam (PPOConfig; "
                                        "the network and gamma are the actor-critic's)")
    for f in dataclasses.fields(PPOConfig):
        _field_argument(group, f, f.name, f"ppo_{f.name}", f"{f.metadata['help']}, "
                        f"{PPOConfig.rule(f.name)} (default {f.default})")


def ppo_overrides(args) -> dict:
    """The PPO flags given on the command line, by PPOConfig field name."""
    return {k[4:]: v for k, v in vars(args).items() if k.startswith("ppo_") and v is not None}


def learner_overrides(args) -> dict:
    """The hyperparameter flags given on the command line, by config field name."""
    return {k[3:]: v for k, v in vars(args).items() if k.startswith("hp_") and v is not None}


def network_overrides(args) -> dict:
    """The network flags given on the command line, by ACNetwork field name."""
    return {k[4:]: v for k, v in vars(args).items() if k.startswith("net_") and v is not None}


def _learner_arguments(p: argparse.ArgumentParser, steps_default, required: bool = True) -> None:
    """--task and --steps (required when required and steps_default is None), --hidden..."""
    p.add_argument("--task", required=required,
                   help="trace-conditioning, trace-patterning, cartpole-p, pendulum-p, a "
                        "gymnasium id (e.g. CartPole-v1) or popgym:<Name>")
    p.add_argument("--steps", type=_positive_int, required=required and steps_default is None,
                   default=steps_default)
    p.add_argument("--hidden", type=_dim, default=32, help="RTU units (default 32)")
    p.add_argument("--kind", choices=KINDS, default=None,
                   help="the cell: an RTU (linear, nonlinear) or the online LRU (lru); default "
                        "nonlinear for prediction tasks, linear for control tasks")
    p.add_argument("--activation", choices=ACTIVATIONS, default=None,
                   help="default relu for prediction tasks, tanh for control tasks")
    p.add_argument("--backend", choices=("c", "reference"), default="c")
    p.add_argument("--dtype", choices=("float32", "float64"), default=None,
                   help="C precision (default float32; the reference is float64)")
    p.add_argument("--seed", type=_seed, default=0)


def _given(parser: argparse.ArgumentParser, argv, command: str) -> dict:
    """The options given on the command line of a sub-command: their dest -> their first option
    string (parsed again with every default suppressed, so a flag given with its default value
    counts too)."""
    sub = next(a for a in parser._subparsers._group_actions
               if isinstance(a, argparse._SubParsersAction)).choices[command]
    saved = {a: a.default for a in sub._actions}
    try:
        for a in sub._actions:
            a.default = argparse.SUPPRESS
        given = set(vars(parser.parse_args(argv)))
        return {a.dest: a.option_strings[0] for a in sub._actions
                if a.dest in given and a.option_strings}
    finally:
        for a, default in saved.items():
            a.default = default


def _writable_file(path: str) -> bool:
    """path can be written as a file: not a directory, in a directory that exists and can be
    written to."""
    import os
    directory = os.path.dirname(os.path.abspath(path))
    return not os.path.isdir(path) and os.path.isdir(directory) and os.access(directory, os.W_OK)


#: the flags that size a command's memory, for its out-of-memory message
_SIZED_BY = {"validate": "--n-in and --n-hidden",
             "train": "--hidden, the network's sizes and (--algo ppo) --n-envs x --n-steps"}


def main(argv: list[str] | None = None) -> int:
    try:
        c_build()  # loads the C core, which reads RTU_EDGE_KERNELS
    except ValueError as err:
        print(f"rtu-edge: error: {err}", file=sys.stderr)
        return 2
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "validate":
        if args.json is not None and not _writable_file(args.json):
            parser.error(f"validate: --json: cannot write {args.json} (not a file in an existing, "
                         "writable directory)")
        if args.onnx is not None and args.learners:
            parser.error("validate: give --onnx or --learners, not both")
        if (args.onnx is not None or args.learners) and args.json is not None:
            parser.error("validate: --json goes with the cell check (no --onnx, no --learners)")
        if args.onnx is None and args.checkpoint is not None:
            parser.error("validate: --checkpoint goes with --onnx")
        if args.onnx is None and not args.learners and args.steps is not None:
            parser.error("validate: --steps goes with --onnx or --learners")
    if args.command == "train":
        args.given = {dest: flag for dest, flag in _given(parser, argv, "train").items()
                      if dest not in ("out", "config", "tensorboard", "resume", "overwrite")}
        if args.resume and args.overwrite:
            parser.error("train: --resume continues the run in --out, --overwrite replaces it: "
                         "give one")
        if args.config is not None and (args.given or args.resume):
            flags = sorted([*args.given.values(), *(["--resume"] if args.resume else [])])
            parser.error(f"train: --config repeats the run of its file as it is; give only "
                         f"--out (and --tensorboard, --overwrite) with it, not {', '.join(flags)}")
        if args.config is None and not args.resume and (args.task is None or args.steps is None):
            parser.error("train: the following arguments are required: --task, --steps "
                         "(or --config FILE, or --resume)")
        if "log_every" in args.given and args.task is not None and \
                args.task not in PREDICTION_TASKS:
            parser.error(f"train: --log-every applies to prediction tasks (a control run logs "
                         f"every episode), not to {args.task}")
    if args.command == "eval":
        given = _given(parser, argv, "eval")
        kind, other = ("steps", "episodes") if args.task in PREDICTION_TASKS else \
            ("episodes", "steps")
        if other in given:
            parser.error(f"eval: {given[other]} applies to "
                         f"{'control' if other == 'episodes' else 'prediction'} tasks, not to "
                         f"{args.task} (it takes --{kind})")
    if args.command == "sweep":
        if args.file is None and not args.report:
            parser.error("sweep: give a sweep FILE to run, and/or --report")
        if args.versus is not None and not args.report:
            parser.error("sweep: --versus goes with --report")
        run_options = (args.engine, args.address, args.jobs, args.seeds, args.only)
        if args.file is None and any(o is not None for o in run_options):
            parser.error("sweep: --engine, --address, --jobs, --seeds and --only go with a "
                         "sweep FILE")
        if args.address is not None and args.engine != "ray":
            parser.error("sweep: --address goes with --engine ray")
        args.engine = args.engine or "joblib"
        if args.seeds is not None:
            args.seeds = [s for group in args.seeds for s in group]
            if len(set(args.seeds)) != len(args.seeds):
                parser.error(f"sweep: --seeds: a seed is given twice: {args.seeds}")
    if args.command == "export":
        if not (args.onnx or args.c_header):
            parser.error("export: give --onnx OUT.onnx and/or --c-header OUT.h")
        if (args.sequence or args.int8) and not args.onnx:
            parser.error("export: --sequence and --int8 go with --onnx")
    from . import commands
    try:
        if args.command == "validate":
            from . import validate
            return validate.main(args)
        if args.command == "export":
            from .export import cli_export
            return cli_export.export(args)
        if args.command == "sweep":
            from . import sweep
            return sweep.main(args)
        return {"train": commands.train, "eval": commands.evaluate,
                "demo": commands.demo}[args.command](args)
    except (ValueError, OSError) as err:
        print(f"rtu-edge {args.command}: error: {err}", file=sys.stderr)
        return 2
    except ArithmeticError as err:  # a learner diverged outside train (which says more)
        print(f"rtu-edge {args.command}: error: the learner diverged: {err}", file=sys.stderr)
        return 2
    except MissingExtra as err:
        print(f"rtu-edge {args.command}: error: {err.message('this command')}", file=sys.stderr)
        return 2
    except commands.Interrupted as stop:
        print(f"rtu-edge {args.command}: {stop}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:  # Ctrl-C outside a run's safe points (train has its own)
        print(f"\nrtu-edge {args.command}: interrupted", file=sys.stderr)
        return 130
    except MemoryError as err:
        hint = f"; smaller {_SIZED_BY[args.command]} need less" \
            if args.command in _SIZED_BY else ""
        print(f"rtu-edge {args.command}: error: not enough memory ({err or 'MemoryError'})"
              f"{hint}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
