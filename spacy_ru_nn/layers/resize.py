"""Growing a trained model's output for new labels, keeping what it learned for the old ones.

A pipeline that is sourced (`[components.x] source = ...`) or loaded and then trained on data
with a label it does not know must not read that label as missing: the output layer gains rows
for the new label, the trained rows keep their values (found by tag or label name, since the
order may change), and the new rows start at zero, as spaCy's own resizable layers do
(`spacy/ml/models/parser.py resize_output`).
"""
from typing import Dict, Sequence

import torch
from thinc.api import Model, Optimizer
from thinc.types import Floats1d, FloatsXd

from ..compat import replace_layer
from ..torch_glue import built_modules, torch_module


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


def resize_classifier_output(model: Model, n_labels: int) -> Model:
    """`resize_output` of the text classifiers (spaCy's `TextCategorizer.add_label` calls it):
    grow the torch module's output from its labels to n_labels, new labels last.

    The output is the `output` Linear, or, in a model without hidden layers (logistic
    regression), the bag-of-words tables and their bias, one column per logit. Two labels
    share one logit under a sigmoid (p = sigmoid(z) for the second label); as a softmax over
    [0, z] gives the same probabilities, growing from two labels puts a zero row first and the
    trained row second. A model that is not built yet is left for `initialize`.
    """
    wrapper = model.get_ref("output_layer")
    module = torch_module(wrapper)
    if module is None:
        return model
    n_old = wrapper.get_dim("nO")
    if n_labels < n_old:
        raise ValueError(f"Cannot shrink {model.name} from {n_old} to {n_labels} labels")
    if n_labels == n_old:
        return model
    if getattr(module, "output", None) is not None:
        old: torch.nn.Linear = module.output
        larger = torch.nn.Linear(old.in_features, n_labels).to(old.weight.device)
        with torch.no_grad():
            larger.weight.copy_(_grown(old.weight, n_labels, axis=0))
            larger.bias.copy_(_grown(old.bias, n_labels, axis=0))
        module.output = larger
    else:
        module.grow_logits(lambda weight, axis: _grown(weight, n_labels, axis))
    if hasattr(module, "n_logits"):
        # A module whose config() reports n_logits must rebuild at the new size when loaded.
        module.n_logits = n_labels
    wrapper.set_dim("nO", n_labels, force=True)
    model.set_dim("nO", n_labels, force=True)
    return model


def _grown(weight: torch.Tensor, n_labels: int, axis: int) -> torch.Tensor:
    """`weight` with its label axis grown to n_labels: the trained entries kept (a single
    sigmoid logit becomes the second of two), the new ones zero."""
    shape = list(weight.shape)
    n_old, shape[axis] = shape[axis], n_labels
    larger = weight.detach().new_zeros(shape)
    first = 1 if n_old == 1 else 0
    larger.narrow(axis, first, n_old).copy_(weight.detach())
    return larger


def forget_resized_torch_params(model: Model, sgd: Optimizer) -> None:
    """Drop the optimizer's moments and averages of torch parameters whose size changed.

    thinc's optimizer keeps Adam moments and weight averages per `(shim.id, name)`; once a
    label has grown an output layer in place, the old entries no longer fit the parameter.
    """
    tables: Sequence[Dict] = [sgd.mom1, sgd.mom2, sgd.averages or {}]
    for shim, module in built_modules(model):
        for name, param in module.named_parameters():
            key = (shim.id, name)
            for table in tables:
                if key in table and table[key].size != param.numel():
                    del table[key]


__all__ = ["forget_resized_torch_params", "grow_tagger_output", "resize_classifier_output"]
