"""Growing a trained model's output for new labels, keeping what it learned for the old ones.

A pipeline that is sourced (`[components.x] source = ...`) or loaded and then trained on data
with a label it does not know must not read that label as missing: the output layer gains rows
for the new label, the trained rows keep their values (found by tag or label name, since the
order may change), and the new rows start at zero, as spaCy's own resizable layers do
(`spacy/ml/models/parser.py resize_output`).
"""
from typing import Dict, Sequence

from thinc.api import Model
from thinc.types import Floats1d, FloatsXd

from ..compat import replace_layer


def grow_tagger_output(model: Model, old_tags: Sequence[str], new_tags: Sequence[str]) -> None:
    """Resize the tagger's output layer and CRF (refs "output_layer" and "crf") from old_tags to
    new_tags. An output layer without weights yet is left for `initialize` to size.

    The resized layers are new thinc layers with new ids, so no optimizer state of the old
    shapes is ever applied to them.
    """
    output_layer = model.get_ref("output_layer")
    if not output_layer.has_param("W"):
        return
    missing = set(old_tags) - set(new_tags)
    if missing:
        raise ValueError(f"Cannot resize the tagger: new tags lack {sorted(missing)}")
    new_index = [new_tags.index(tag) for tag in old_tags]
    W = output_layer.ops.alloc2f(len(new_tags), output_layer.get_param("W").shape[1])
    b = output_layer.ops.alloc1f(len(new_tags))
    W[new_index] = output_layer.get_param("W")
    b[new_index] = output_layer.get_param("b")
    _replace_layer(model, "output_layer", _resized_copy(output_layer, {"W": W, "b": b}))
    if model.has_ref("crf"):
        crf = model.get_ref("crf")
        transitions = crf.ops.alloc2f(len(new_tags), len(new_tags))
        start: Floats1d = crf.ops.alloc1f(len(new_tags))
        end: Floats1d = crf.ops.alloc1f(len(new_tags))
        transitions[crf.ops.xp.ix_(new_index, new_index)] = crf.get_param("transitions")
        start[new_index] = crf.get_param("start")
        end[new_index] = crf.get_param("end")
        params = {"transitions": transitions, "start": start, "end": end}
        _replace_layer(model, "crf", _resized_copy(crf, params))
    model.set_dim("nO", len(new_tags), force=True)


def _resized_copy(layer: Model, params: Dict[str, FloatsXd]) -> Model:
    """A copy of the layer (same kind, new id) with the given params, nO from their first
    axis, and zero gradients of their shapes."""
    copy = layer.copy()
    for name in copy.param_names:
        copy.set_param(name, None)
    copy.set_dim("nO", next(iter(params.values())).shape[0], force=True)
    for name, value in params.items():
        copy.set_param(name, value)
        copy.set_grad(name, copy.ops.alloc(value.shape, dtype=value.dtype))
    return copy


def _replace_layer(model: Model, ref: str, new: Model) -> None:
    replace_layer(model, model.get_ref(ref), new)
    model.set_ref(ref, new)


__all__ = ["grow_tagger_output"]
