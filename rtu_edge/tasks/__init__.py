"""Prediction tasks for online learners: the classical-conditioning benchmarks of Rafiee et al.
(2022), trace conditioning and trace patterning, with their return and error metric."""

from .trace_conditioning import (TraceConditioning, TracePatterning, discounted_returns, msre,
                                 rollout)

__all__ = ["TraceConditioning", "TracePatterning", "rollout", "discounted_returns", "msre"]
