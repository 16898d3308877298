"""What TDLambda and ActorCritic share: checkpoint files on top of their checkpoint_bytes and
load_bytes."""

from __future__ import annotations

from . import checkpoint


class Checkpointable:
    """save / load / from_checkpoint for a learner class that defines checkpoint_bytes(),
    load_bytes(data, name), _decode_checkpoint(data, name) and _from_checkpoint(ckpt, backend)."""

    def save(self, path) -> None:
        """Write the checkpoint to path atomically (temporary file, fsync, rename, fsync of the
        directory): on any error the previous file at path is intact (OSError naming path)."""
        checkpoint.write_atomic(path, self.checkpoint_bytes())

    def load(self, path) -> None:
        """Restore this learner from the checkpoint file at path (see load_bytes)."""
        self.load_bytes(checkpoint.read_file(path), str(path))

    @classmethod
    def from_checkpoint(cls, path, backend: str = "c"):
        """A learner built from the checkpoint file at path, on backend "c" (float32 or float64,
        the checkpoint's precision) or "reference" (float64 checkpoints only)."""
        data = checkpoint.read_file(path)
        ckpt = cls._decode_checkpoint(data, path)
        if backend == "reference" and ckpt.precision != 8:
            raise ValueError(f"checkpoint {path} holds float32 reals; the reference backend is "
                             "float64 (load it with backend='c')")
        learner = cls._from_checkpoint(ckpt, backend)
        learner.load_bytes(data, str(path))
        return learner
