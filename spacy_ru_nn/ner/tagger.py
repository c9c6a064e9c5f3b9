"""The NER head (embed -> encode -> tag scores), its output layers, and what the component asks of it.

The component never reaches into the layers: it asks `predict_tags(model, docs)` for the best
tag ids, `get_loss(model, docs, scores, gold)` for the loss and its gradient, and
`set_tags(model, tags)` when its labels change. The loss and the decoding belong to the output
module that owns their parameters (a linear-chain CRF, or a softmax).
"""
from functools import partial
from typing import Any, Callable, List, Optional, Protocol, Sequence, Tuple, Type, cast

import numpy
import torch
from spacy.tokens import Doc
from thinc.api import Model, torch2xp, xp2torch
from thinc.types import Floats2d, Ints1d, Ragged

from ..compat import replace_layer
from ..torch_glue import install_module, module_deserializer, serialize_module, torch_module
from .modules import CRFTagScores, TagScores
from .ragged import ragged_torch_layer, ragged_wrapper

MODEL_NAME = "entity_tagger"


class Tagging(Protocol):
    """What the component asks of its model; this module's functions, and the legacy adapter
    (`spacy_ru_nn.legacy.ner.LegacyTagging`)."""

    def is_initialized(self, model: Model) -> bool:
        ...

    def set_tags(self, model: Model, tags: Sequence[str]) -> None:
        ...

    def predict_tags(self, model: Model, docs: List[Doc]) -> List[Ints1d]:
        ...

    def get_loss(self, model: Model, docs: List[Doc], scores: Any, gold: List[Ints1d]) -> Tuple[float, Any]:
        ...


def entity_tagger(
    embed: Model[List[Doc], Ragged], encode: Model[Ragged, Ragged], output: Model[Ragged, Ragged]
) -> Model[List[Doc], Ragged]:
    """Chain embed -> encode -> output into one model of per-token tag scores.

    The embed may append `n_pass_through` columns (attr) after its `nO - n_pass_through`
    wide embedding: the encoder reads the embedding, and those columns go past it, straight
    to the output layer, whose input width is the encoder's `nO` plus them.
    """
    n_pass = embed.attrs.get("n_pass_through", 0)
    embed_width = embed.get_dim("nO") - n_pass
    if encode.has_dim("nI") is True and encode.get_dim("nI") != embed_width:
        raise ValueError(
            f"The embed gives {embed_width} columns per token (plus {n_pass} passed through), but the "
            f"encoder reads {encode.get_dim('nI')}: give both the same width"
        )
    output_width = encode.get_dim("nO") + n_pass
    if output.has_dim("nI") is True and output.get_dim("nI") != output_width:
        raise ValueError(f"The output layer reads {output.get_dim('nI')} columns, the encoder gives {output_width}")
    output.set_dim("nI", output_width)
    return Model(
        MODEL_NAME,
        tagger_forward,
        init=tagger_init,
        layers=[embed, encode, output],
        refs={"embed": embed, "encode": encode, "output_layer": output},
        dims={"nO": None},
    )


def tagger_init(model: Model[List[Doc], Ragged], X: Optional[List[Doc]] = None, Y=None) -> None:
    """Read the embed's data (vectors, lexicon, pretrained encoders) and build the output
    module for the tags `set_tags` gave (or Y's columns)."""
    embed, encode, output = model.layers
    embed.initialize(X=X)
    encode.initialize()
    output.initialize(Y=Y)
    model.set_dim("nO", output.get_dim("nO"), force=True)


def tagger_forward(model: Model[List[Doc], Ragged], docs: List[Doc], is_train: bool) -> Tuple[Ragged, Callable]:
    embed, encode, output = model.layers
    embedded, backprop_embed = embed(docs, is_train)
    n_pass = embed.attrs.get("n_pass_through", 0)
    lengths = embedded.lengths
    if not n_pass:
        hidden, backprop_encode = encode(embedded, is_train)
    else:
        width = embedded.dataXd.shape[1] - n_pass
        encoded, backprop_encode = encode(Ragged(embedded.dataXd[:, :width], lengths), is_train)
        hidden = Ragged(model.ops.xp.hstack([encoded.dataXd, embedded.dataXd[:, width:]]), lengths)
    scores, backprop_output = output(hidden, is_train)

    def backprop(d_scores: Ragged) -> List[Doc]:
        d_hidden = backprop_output(d_scores)
        if not n_pass:
            return backprop_embed(backprop_encode(d_hidden))
        n_encoded = d_hidden.dataXd.shape[1] - n_pass
        d_encoded = backprop_encode(Ragged(d_hidden.dataXd[:, :n_encoded], lengths))
        return backprop_embed(Ragged(model.ops.xp.hstack([d_encoded.dataXd, d_hidden.dataXd[:, n_encoded:]]), lengths))

    return scores, backprop


def tag_output(name: str, module_class: Type[TagScores]) -> Model[Ragged, Ragged]:
    """An output layer of per-token tag scores, whose torch module is sized by the tags and so
    built at initialize. The wrapper exists from the start and saves the module's
    constructor arguments with its weights, so a saved pipeline, trained or not, loads
    without `init` (spaCy #8319, thinc #796)."""
    return ragged_torch_layer(
        name,
        _output_wrapper(module_class),
        dims={"nI": None, "nO": None},
        init=partial(init_tag_output, module_class),
        attrs={"tags": []},
    )


def _output_wrapper(module_class: Type[TagScores]) -> Model:
    return ragged_wrapper(
        None, serialize_model=serialize_module, deserialize_model=partial(_deserialize_output, module_class)
    )


def _deserialize_output(
    module_class: Type[TagScores], module: Optional[TagScores], data: bytes, device: torch.device
) -> Optional[TagScores]:
    # A module-level function (not a closure), so that the model pickles.
    return module_deserializer(module_class)(module, data, device)


def init_tag_output(
    module_class: Type[TagScores],
    model: Model[Ragged, Ragged],
    X: Optional[Ragged] = None,
    Y: Optional[List[Floats2d]] = None,
) -> None:
    """Build the module: one score per tag of `set_tags`, or per column of Y without them."""
    tags = model.attrs["tags"]
    if tags:
        n_tags = len(tags)
    elif Y is not None:
        n_tags = Y[0].shape[1]
    elif model.has_dim("nO") is True:
        n_tags = model.get_dim("nO")
    else:
        raise ValueError(f"{model.name} needs its tags: call set_tags(model, tags) before initialize")
    module = module_class(nI=model.get_dim("nI"), nO=n_tags)
    if tags:
        module.set_tags(tags)
    install_module(model.layers[0], module)
    model.set_dim("nO", n_tags, force=True)


def output_module(model: Model) -> Optional[TagScores]:
    """The tagger's output module, None until initialize builds it."""
    return cast(Optional[TagScores], torch_module(model.get_ref("output_layer").layers[0]))


def is_initialized(model: Model) -> bool:
    """Whether the model can predict: its output module is built."""
    return output_module(model) is not None


def set_tags(model: Model, tags: Sequence[str]) -> None:
    """Tell the model its tags, in the order of its scores. Before initialize they size the
    output module; on a built model a changed tag set grows it, keeping the scores of the
    tags it knows (found by name: the order may change) and the CRF transitions between them.

    The grown module gets a new wrapper (a new shim id), so no optimizer state of the old
    shapes is ever applied to it, as spaCy's `resize_output` replaces its output layer.
    """
    output = model.get_ref("output_layer")
    old_tags = list(output.attrs["tags"])
    tags = list(tags)
    module = output_module(model)
    if module is not None and tags != old_tags:
        if not old_tags:
            # Built from Y's shape: the names only set the scheme's constraints.
            module.set_tags(tags)
        else:
            grown = module.resized(old_tags, tags)
            wrapper = _output_wrapper(type(module))
            install_module(wrapper, grown)
            replace_layer(output, output.layers[0], wrapper)
            output.set_ref("torch_layer", wrapper)
        output.set_dim("nO", len(tags), force=True)
        model.set_dim("nO", len(tags), force=True)
    output.attrs["tags"] = tags


def predict_tags(model: Model[List[Doc], Ragged], docs: List[Doc]) -> List[Ints1d]:
    """The best tag id of every token, per doc: Viterbi's path under a CRF, the argmax of the
    scores under a softmax."""
    scores = model.predict(docs)
    module = cast(TagScores, output_module(model))
    device = module.linear.weight.device
    lengths = torch.as_tensor(model.ops.to_numpy(scores.lengths), dtype=torch.int64, device=device)
    with torch.no_grad():
        best = module.decode(xp2torch(model.ops.xp.ascontiguousarray(scores.dataXd), device=device), lengths)
    flat = best.cpu().numpy()
    return numpy.split(flat, numpy.cumsum([len(doc) for doc in docs])[:-1])


def get_loss(model: Model, docs: List[Doc], scores: Ragged, gold: List[Ints1d]) -> Tuple[float, Ragged]:
    """The loss of the scores against the gold tag ids of each doc (-1: unknown, which the
    CRF marginalises and the softmax skips), and its gradient with respect to the scores.

    The loss is computed in torch on the output module's own parameters, so the CRF's
    transition scores get their gradient where the shim's `finish_update` reads it.
    """
    module = cast(TagScores, output_module(model))
    device = module.linear.weight.device
    emissions = xp2torch(model.ops.xp.ascontiguousarray(scores.dataXd), requires_grad=True, device=device)
    lengths = torch.as_tensor(model.ops.to_numpy(scores.lengths), dtype=torch.int64, device=device)
    gold_ids = numpy.concatenate([numpy.asarray(g, dtype=numpy.int64) for g in gold]) if gold else numpy.zeros(0, "int64")
    loss = module.loss(emissions, lengths, torch.as_tensor(gold_ids, device=device))
    loss.backward()
    d_scores = torch2xp(cast(torch.Tensor, emissions.grad), ops=model.ops)
    return float(loss.item()), Ragged(d_scores, scores.lengths)


def crf_tag_output() -> Model[Ragged, Ragged]:
    return tag_output("crf_tag_output", CRFTagScores)


def softmax_tag_output() -> Model[Ragged, Ragged]:
    return tag_output("softmax_tag_output", TagScores)


__all__ = [
    "Tagging",
    "crf_tag_output",
    "entity_tagger",
    "get_loss",
    "is_initialized",
    "predict_tags",
    "set_tags",
    "softmax_tag_output",
    "tag_output",
]
