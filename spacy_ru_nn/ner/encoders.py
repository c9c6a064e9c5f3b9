"""Encoders of the NER model: token rows -> the same rows read in the context of their sequence."""
from thinc.api import Model
from thinc.types import Ragged

from .modules import RaggedBiLSTM
from .ragged import ragged_torch_layer, ragged_wrapper


def bilstm_encoder(width: int, depth: int, inference_precision: str) -> Model[Ragged, Ragged]:
    """A BiLSTM over each sequence of the Ragged input (both directions together `width` wide).

    Its size comes from the config, so the module is wrapped eagerly (spaCy #8319). Dropout
    comes from `[training] dropout` (`torch_glue.set_torch_dropout_rate`).
    """
    module = RaggedBiLSTM(width, depth, dropout=0.0, inference_precision=inference_precision)
    return ragged_torch_layer("bilstm_encoder", ragged_wrapper(module), dims={"nI": width, "nO": width})


__all__ = ["bilstm_encoder"]
