"""FLOPs per step of a recurrent cell: its forward and its gradient, as the package's learners
compute them (benchmarks/bench_cell.py times the cells against it; ``rtu-edge train`` records the
count of a run's learner, rtu_edge.train.learner_flops)."""

from __future__ import annotations

from typing import Optional

from .ac import Shape
from .reference.gru import flops_per_step as gru_flops_per_step


def flops_per_step(kind: str, n_hidden: int, n_in: int, window: Optional[int] = None) -> int:
    """FLOPs of one step + gradient, counting the O(n*d) and O(n^2) terms only (n = n_hidden,
    d = n_in; the RTU kinds have no O(n^2) term).

    gru, the baseline (rtu_edge.baselines) with truncated BPTT over ``window`` = T steps: its
    forward (the window run again from h_{t-T}) and T-step backward as
    rtu_edge.reference.gru.flops_per_step counts them (the learner's trace, which the RTU kinds'
    count leaves out too, not included).

    linear, rtu-spec.md section 5: forward 4nd + E update 8nd + gradient contraction 6nd = 18nd.
    The code agrees (c_src/rtu_cell.c, inner j loops): step_linear u loop uc += wc*x, ud += wd*x
    (2 mul + 2 add = 4); E loop e_re = g*er - phi*ei + eta*x (3 mul + 2 add), e_im = g*ei + phi*er
    (2 mul + 1 add) = 8; gradient_into dc*ta + dd*tb, -dc*tb + dd*ta (2 x (2 mul + 1 add)) = 6.

    nonlinear, counted in c_src/rtu_cell.c:
      step_nonlinear u loop: uc += wc*x, ud += wd*x                        2 mul + 2 add =  4
      step_nonlinear trace loop: ex = eta*x                                 1 mul         =  1
        ta = fa*(g*a - phi*b + ex)                                          3 mul + 2 add =  5
        tb = fb*(g*b + phi*a)                                               3 mul + 1 add =  4
        tc = fa*(g*c - phi*d)                                               3 mul + 1 add =  4
        td = fb*(g*d + phi*c + ex)                                          3 mul + 2 add =  5
      gradient_into: dc*ta + dd*tb, dc_w*tc + dd*td                   2 x (2 mul + 1 add) =  6
      total 4 + 19 + 6 = 29nd.
    lru, the linear kind's 18nd and its readout of 2n rows, counted in c_src/rtu_cell.c:
      rtu_lru_readout, per row: c_re[i].c, c_im[i].d, d_skip[i].x     2n + 2n + 2d  = 4n + 2d
      lru_backward, per row: dL/dc += dy c_re[i], dL/dd += -dy c_im[i]  2n + 2n       = 4n
        the gradient's rows dy c, -dy d, dy x                             n + n + d     = 2n + d
      total 18nd + 2n (4n + 2d) + 2n (6n + d) = 24nd + 20n^2.
    (rtu_cell_gradient assigns grad; run_gradient's accumulation adds 2nd more, not counted;
    nor does the LRU's, 4n^2 + 2nd.)
    """
    n, d = n_hidden, n_in
    if kind == "gru":
        cost = gru_flops_per_step(n, d, window)
        return cost["forward"] + cost["backward"]
    if kind == "lru":
        return 24 * n * d + 20 * n * n
    per_nd = {"linear": 18, "nonlinear": 29}[kind]
    return per_nd * n * d


def ac_flops_per_step(kind: str, n_obs: int, n_hidden: int, action_kind: str, n_actions: int,
                      network) -> int:
    """FLOPs of one transition of the streaming actor-critic (rtu_ac_act + rtu_ac_learn, c_src/
    rtu_ac.c) on an ACNetwork, counting the terms that are a product of two sizes or a pass over
    a network's parameters (LayerNorm, activations, sampling and the derived cache's O(n)
    transcendentals not counted). Per network (critic: o = 1 output; actor: o = n_actions, or
    2 n_actions for continuous actions), with n_x its input, m = n_embed, e = m or n_x the
    RTU's input, k = n_head, 2n the RTU's features and P its parameters:

      forward (one a step)      input layer 2 m n_x; the cell's step, traces and gradient,
                                flops_per_step(kind, n, e); head 2 k 2n + 2 o k (k = 0: 2 o 2n)
      critic's peek at s'       2 m n_x + the cell's input sums 4 n e + the critic head's forward
      backward                  per dense weight 3 (z = decay z + dy x) + 2 where dL/dx goes on
                                (dx = W^T dy: the head's layers; not the input layer's); the
                                input layer's sensitivity 4 n m (rtu_cell_input_gradient)
      optimizer                 |z|_1 (1 per parameter) and theta += a z (2): 3 P

    A shared trunk (network.shared) is counted once, as rtu_edge.train.learner_flops counts
    it (its second gradient not counted)."""
    n, m, k = n_hidden, network.n_embed, network.n_head
    n_x, e, o_pi = _network_sizes(n_obs, action_kind, n_actions, network)
    cell_params = 2 * n + 2 * n * e + (4 * n * n + 2 * n * e if kind == "lru" else 0)
    trunk_params = m * (n_x + 1) + cell_params
    embed_forward = 2 * m * n_x
    trunk = _trunk_flops(kind, n, m, n_x, e)

    def head(o):  # forward, backward, parameters
        if k:
            return (2 * k * 2 * n + 2 * o * k, 5 * k * 2 * n + 5 * o * k,
                    k * (2 * n + 1) + o * (k + 1))
        return 2 * o * 2 * n, 5 * o * 2 * n, o * (2 * n + 1)

    total = trunk * (1 if network.shared else 2)
    for o in (1, o_pi):
        forward, backward, params = head(o)
        total += forward + backward + 3 * (trunk_params + params)
    total += embed_forward + 4 * n * e + head(1)[0]  # the critic's peek
    return total


def ppo_flops_per_sample(kind: str, n_obs: int, n_hidden: int, action_kind: str, n_actions: int,
                         network) -> int:
    """FLOPs of one sample's pass in PPO's update (rtu_ppo_gradient, c_src/rtu_ppo.c: an epoch
    makes one for each stored step), counted as ac_flops_per_step counts a transition, with its
    names:

      each trunk                as the actor-critic's: the input layer 2 m n_x; the cell's step
                                from the stored context, its traces and gradient,
                                flops_per_step(kind, n, e); the input layer's gradient, 3 per
                                weight (rtu_dense_backward's g = decay g + d x, decay 1), and
                                sensitivity 4 n m
      each head                 forward 2 k 2n + 2 o k (k = 0: 2 o 2n); backward: the hidden
                                layer over the chunk 4 per weight (rtu_dense_backward_batch's
                                g += dy x, which leaves out the decay of 1, and dx = W^T dy), the
                                out layer 5 per weight (rtu_dense_backward: the gradient 3, dx 2)

    Adam's step, once a minibatch, is not counted; nor are LayerNorm, activations and the loss.
    A shared trunk is counted once (its second gradient not counted)."""
    n, m, k = n_hidden, network.n_embed, network.n_head
    n_x, e, o_pi = _network_sizes(n_obs, action_kind, n_actions, network)
    total = _trunk_flops(kind, n, m, n_x, e) * (1 if network.shared else 2)
    for o in (1, o_pi):
        hidden, out = k * 2 * n, (o * k if k else o * 2 * n)  # the layers' weights
        total += 2 * (hidden + out) + 4 * hidden + 5 * out
    return total


def _trunk_flops(kind: str, n: int, m: int, n_x: int, e: int) -> int:
    """A trunk's FLOPs in a learner's step (ac_flops_per_step's and ppo_flops_per_sample's
    "each trunk"): the input layer 2 m n_x, the cell's step, traces and gradient, and the input
    layer's gradient (3 per weight) and sensitivity 4 n m."""
    return 2 * m * n_x + flops_per_step(kind, n, e) + (3 * m * n_x + 4 * n * m if m else 0)


def _network_sizes(n_obs: int, action_kind: str, n_actions: int, network) -> tuple:
    """(n_x, e, o_pi) of an ACNetwork: its input's size (the observation and the extra inputs),
    its RTU's input's (n_embed, or n_x without an input layer) and its actor's outputs, as the
    learner's Shape gives them (its kind, activation and n_hidden change none of them)."""
    shape = Shape("linear", "tanh", n_obs, 1, action_kind, n_actions, network)
    return shape.n_x, network.n_embed if network.n_embed else shape.n_x, shape.n_out_policy
