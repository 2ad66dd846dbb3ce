"""ernie: ERNIE, BERT and RoBERTa encoders on the ernie.cpp engine (libernie).

Everything runs in the native extension ``ernie._ernie``; this file only re-exports it and
defines the output container. API: docs/PYTHON.md.
"""
import os

# As the `ernie` program does (src/cli/openmp_env.cc, which says why): OpenMP workers spin briefly
# (3000 spins, not libgomp's ~300k) before they sleep. libgomp reads this when it is loaded, so it
# only takes effect if nothing loaded libgomp before this import.
if not any(k in os.environ for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "ERNIE_KEEP_OPENMP_ENV")):
    os.environ["GOMP_SPINCOUNT"] = "3000"


class ModelOutput(dict):
    """A model's outputs, as transformers' ModelOutput: by key, by attribute, or by position."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"this model's output has no '{name}' (it has {', '.join(self)})") from None

    def __getitem__(self, key):
        if isinstance(key, (int, slice)):
            return self.to_tuple()[key]
        return super().__getitem__(key)

    def to_tuple(self):
        return tuple(self.values())


from ._ernie import (  # noqa: E402  (the environment above must be set first)
    Config,
    ConfigError,
    ErnieError,
    Model,
    Pipeline,
    Tokenizer,
    __version__,
    convert,
    init,
    pipeline,
    quantize,
    train,
)

__all__ = ["Config", "ConfigError", "ErnieError", "Model", "ModelOutput", "Pipeline", "Tokenizer", "convert", "init",
           "pipeline", "quantize", "train", "__version__"]
