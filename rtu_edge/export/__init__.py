"""Exports of trained learners for deployment: ONNX graphs for onnxruntime and C headers for
firmware, both from the InferenceModel of a checkpoint (model.py)."""

from .model import CModel, CModelBatch, InferenceModel

__all__ = ["CModel", "CModelBatch", "InferenceModel"]
