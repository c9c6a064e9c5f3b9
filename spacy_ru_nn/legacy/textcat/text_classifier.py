"""What the text classifiers of `nn_textcat` share: a featurizer without weights (docs ->
arrays), then a torch module built at `init` once the labels are known (arrays -> logits),
then one head: a sigmoid over one logit for two labels, a softmax over one logit per label
otherwise.

Each architecture brings its featurizer, its torch module (with a `config()` of its
constructor arguments, see `torch_glue`) and an `init` that builds the module; the wiring, the
head and its gradient contract are here, once.
"""
from typing import Any, Callable, Dict, List, Optional, Tuple, Type

import torch
from spacy.attrs import IDS
from spacy.tokens import Doc
from thinc.api import ArgsKwargs, Model, PyTorchWrapper_v3, torch2xp, xp2torch
from thinc.types import Floats2d

from ...torch_glue import install_module, module_deserializer, serialize_module, torch_predict

InitFn = Callable[[Model, Optional[List[Doc]], Optional[Floats2d]], None]


def text_classifier(
    name: str,
    featurizer: Model,
    *,
    convert_inputs: Callable[[Model, Any, bool], Tuple[ArgsKwargs, Callable]],
    module_class: Type[torch.nn.Module],
    init: InitFn,
    attrs: Dict[str, Any],
    nO: Optional[int] = None,
) -> Model[List[Doc], Floats2d]:
    """Chain a featurizer and a (still empty) torch wrapper into a classifier.

    The wrapper exists from the start, so a trained pipeline loads without `init`
    (spaCy #8319); its module is rebuilt from the config saved with the weights.

    name (str): The model's name.
    featurizer (Model): Docs -> the inputs `convert_inputs` turns into tensors.
    convert_inputs (Callable): PyTorchWrapper's input conversion.
    module_class (Type[torch.nn.Module]): The module `init` builds; rebuilt on load.
    init (InitFn): Builds the module (see `n_labels_from` and `install_classifier`).
    attrs (Dict[str, Any]): The architecture's settings, read by `init`.
    nO (Optional[int]): Number of labels, or None to take it from Y at initialize.
    RETURNS (Model[List[Doc], Floats2d]): One probability per label and doc.
    """
    wrapper = PyTorchWrapper_v3(
        None,
        convert_inputs=convert_inputs,
        convert_outputs=convert_logits_to_probs,
        serialize_model=serialize_module,
        deserialize_model=module_deserializer(module_class),
    )
    return Model(
        name,
        classifier_forward,
        init=init,
        layers=[featurizer, wrapper],
        refs={"featurizer": featurizer, "output_layer": wrapper},
        dims={"nO": nO},
        attrs=attrs,
    )


def token_attr_id(name: str, setting: str) -> int:
    """The spaCy attribute id of a token attribute named in a featurizer's settings."""
    if name.upper() not in IDS or name.upper() in ("IS_SPACE", ""):
        raise ValueError(f"Unknown token attribute {name!r} in {setting} (e.g. 'LOWER', 'SHAPE')")
    return IDS[name.upper()]


def classifier_forward(
    model: Model[List[Doc], Floats2d], docs: List[Doc], is_train: bool
) -> Tuple[Floats2d, Callable[[Floats2d], List]]:
    """Featurize, then run the torch wrapper; the gradient stops at the wrapper (docs have none)."""
    featurizer, wrapper = model.layers
    features, _ = featurizer(docs, is_train)
    if not is_train:
        return torch_predict(wrapper, features), lambda d_probs: []
    probs, backprop_wrapper = wrapper(features, is_train)

    def backprop(d_probs: Floats2d) -> List:
        backprop_wrapper(d_probs)
        return []

    return probs, backprop


def n_labels_from(model: Model, Y: Optional[Floats2d]) -> int:
    """Set the model's nO from Y (one column per label) and check that it can classify."""
    if Y is not None:
        model.set_dim("nO", Y.shape[1])
    if not model.has_dim("nO"):
        raise ValueError(f"{model.name} needs nO (the number of labels): pass Y to initialize.")
    n_labels = model.get_dim("nO")
    if n_labels < 2:
        raise ValueError(f"{model.name} needs at least 2 labels, got nO={n_labels}")
    return n_labels


def n_logits(n_labels: int) -> int:
    """Two labels share one logit (sigmoid); more get one each (softmax)."""
    return 1 if n_labels == 2 else n_labels


def install_classifier(model: Model, module: torch.nn.Module, n_labels: int) -> None:
    """Put the module built by `init` into the model's wrapper."""
    wrapper = model.get_ref("output_layer")
    install_module(wrapper, module)
    wrapper.set_dim("nO", n_labels)


def convert_logits_to_probs(
    model: Model, X_Ytorch: Tuple[Any, torch.Tensor], is_train: bool
) -> Tuple[Floats2d, Callable[[Floats2d], ArgsKwargs]]:
    """Turn logits into one probability column per label.

    Two labels use one logit and a sigmoid (column 1 is p, column 0 is 1 - p); more
    use a softmax. The backward pass takes `probs - truths`, the gradient of the
    cross-entropy with respect to the logits, as thinc's Softmax layer does.
    """
    _, logits = X_Ytorch
    with torch.no_grad():
        if logits.shape[1] == 1:
            p = torch.sigmoid(logits)
            probs = torch.cat([1.0 - p, p], dim=1)
        else:
            probs = torch.softmax(logits, dim=1)
    Y = torch2xp(probs, ops=model.ops)

    def backprop(dY: Floats2d) -> ArgsKwargs:
        d_logits = dY[:, 1:2] if logits.shape[1] == 1 else dY
        d_logits = xp2torch(model.ops.xp.ascontiguousarray(d_logits), device=logits.device)
        return ArgsKwargs(args=(logits,), kwargs={"grad_tensors": d_logits})

    return Y, backprop


__all__ = [
    "classifier_forward",
    "convert_logits_to_probs",
    "install_classifier",
    "n_labels_from",
    "n_logits",
    "text_classifier",
    "token_attr_id",
]
