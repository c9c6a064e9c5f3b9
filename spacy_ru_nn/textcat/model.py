"""The text classifier model the architectures share, and what the component asks of it.

A classifier is two layers: a featurizer sublayer from the config (the n-gram vectorizer, a
token embed), then a torch head built at initialize, once the labels and the featurizer's
width are known, whose logits become one probability column per label: a sigmoid over one
logit for two labels, a softmax over one logit per label otherwise. The head's wrapper exists
from the start, so a trained pipeline loads without running `init`; its module is
rebuilt from the config saved with the weights (`torch_glue.serialize_module`).

Besides predicting, the component asks the model to grow its labels (`resize_labels`,
`forget_resized_params`) and, for attention pooling, for the tokens' weights
(`token_attention`).
"""
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Type, cast

import numpy
import torch
from spacy.tokens import Doc, Token
from thinc.api import ArgsKwargs, Model, Optimizer, PyTorchWrapper_v3, torch2xp, xp2torch
from thinc.shims import PyTorchShim
from thinc.types import Floats2d

from ..torch_glue import (
    built_modules,
    install_module,
    module_deserializer,
    serialize_module,
    torch_module,
    torch_predict,
)
from .bilstm import BiLSTMClassifier
from .embed import TokenEmbed
from .mlp import SparseMLP
from .tokens import kept_tokens
from .vectorizer import NgramFeatures

InitFn = Callable[[Model, Optional[List[Doc]], Optional[Floats2d]], None]
ConvertInputs = Callable[[Model, Any, bool], Tuple[ArgsKwargs, Callable[[Any], Any]]]


def text_classifier(
    name: str,
    featurizer: Tuple[str, Model],
    *,
    module_class: Type[torch.nn.Module],
    convert_inputs: ConvertInputs,
    init: InitFn,
    attrs: Dict[str, Any],
    nO: Optional[int] = None,
) -> Model[List[Doc], Floats2d]:
    """Chain a featurizer sublayer and a (still empty) torch head into a classifier.

    name (str): The model's name.
    featurizer (Tuple[str, Model]): The featurizer's ref name and the layer: docs -> the
        inputs `convert_inputs` turns into tensors.
    module_class (Type[torch.nn.Module]): The head `init` builds, rebuilt on load.
    convert_inputs (ConvertInputs): The head wrapper's input conversion.
    init (InitFn): Initializes the featurizer and builds the head (see `install_head`).
    attrs (Dict[str, Any]): The head's settings, read by `init`.
    nO (Optional[int]): Number of labels, or None to take it from Y at initialize.
    RETURNS (Model[List[Doc], Floats2d]): One probability per label and doc.
    """
    ref, layer = featurizer
    head = PyTorchWrapper_v3(
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
        layers=[layer, head],
        refs={ref: layer, "output_layer": head},
        dims={"nO": nO},
        attrs=attrs,
    )


def classifier_forward(
    model: Model[List[Doc], Floats2d], docs: List[Doc], is_train: bool
) -> Tuple[Floats2d, Callable[[Floats2d], List]]:
    """Featurize, then run the head; at inference without switching the module's mode on
    every call (`torch_predict`)."""
    featurizer, head = model.layers
    features, backprop_features = featurizer(docs, is_train)
    if not is_train:
        return torch_predict(head, features), lambda d_probs: []
    probs, backprop_head = head(features, is_train)

    def backprop(d_probs: Floats2d) -> List:
        backprop_features(backprop_head(d_probs))
        return []

    return probs, backprop


def bow_perceptron_init(
    model: Model[List[Doc], Floats2d], X: Optional[List[Doc]] = None, Y: Optional[Floats2d] = None
) -> None:
    """Fit the vectorizer on X, then build the perceptron from its numbers of features and
    from Y's labels. X should be the whole training set: the vocabulary and the document
    frequencies are data, not shapes."""
    n_labels = n_labels_from(model, Y)
    vectorizer = model.get_ref("vectorizer")
    vectorizer.initialize(X=X)
    module = SparseMLP(
        vectorizer.get_dim("nO"),
        n_logits(n_labels),
        hidden_width=model.attrs["hidden_width"],
        depth=model.attrs["depth"],
        activation=model.attrs["activation"],
        # Dropout comes from `[training] dropout` through set_torch_dropout_rate.
        dropout=0.0,
        n_char_features=vectorizer.get_dim("nC"),
        init=model.attrs["init"],
    )
    install_head(model, module, n_labels)


def bilstm_classifier_init(
    model: Model[List[Doc], Floats2d], X: Optional[List[Doc]] = None, Y: Optional[Floats2d] = None
) -> None:
    """Initialize the embed, then build the BiLSTM on its width and Y's labels."""
    n_labels = n_labels_from(model, Y)
    embed = model.get_ref("embed")
    embed.initialize(X=X)
    module = BiLSTMClassifier(
        embed.get_dim("nO"),
        model.attrs["width"],
        model.attrs["depth"],
        model.attrs["pooling"],
        n_logits(n_labels),
        # Dropout comes from `[training] dropout` through set_torch_dropout_rate.
        dropout=0.0,
    )
    install_head(model, module, n_labels)


def n_labels_from(model: Model, Y: Optional[Floats2d]) -> int:
    """Set the model's nO from Y (one column per label) and check that it can classify."""
    if Y is not None:
        model.set_dim("nO", Y.shape[1], force=True)
    if not model.has_dim("nO"):
        raise ValueError(f"{model.name} needs nO (the number of labels): pass Y to initialize.")
    n_labels = model.get_dim("nO")
    if n_labels < 2:
        raise ValueError(f"{model.name} needs at least 2 labels, got nO={n_labels}")
    return n_labels


def n_logits(n_labels: int) -> int:
    """Two labels share one logit (sigmoid); more get one each (softmax)."""
    return 1 if n_labels == 2 else n_labels


def install_head(model: Model, module: torch.nn.Module, n_labels: int) -> None:
    """Put the head built by `init` into the model's wrapper."""
    head = model.get_ref("output_layer")
    install_module(head, module)
    head.set_dim("nO", n_labels, force=True)


def convert_features(model: Model, features: NgramFeatures, is_train: bool) -> Tuple[ArgsKwargs, Callable[[Any], List]]:
    """The vectorizer's bags as `SparseMLP` arguments. In training the words' n-gram bags go
    along; at inference their vectors come from the module's `word_vectors`, which computes
    each word's once. Integer features have no gradient to pass back."""
    # shim.device walks the module's parameters: ask once.
    device = cast(PyTorchShim, model.shims[0]).device

    def tensors(*arrays: Any) -> Tuple[torch.Tensor, ...]:
        return tuple(xp2torch(array, device=device) for array in arrays)

    args = tensors(features.ids, features.offsets, features.weights)
    kwargs = {}
    module = cast(SparseMLP, torch_module(model))
    words = features.words
    if words is not None and module.char_embed is not None:
        names = ("token_words", "token_offsets", "token_weights")
        kwargs = dict(zip(names, tensors(words.token_words, words.token_offsets, words.token_weights)))
        if is_train:
            kwargs.update(zip(("word_ids", "word_offsets", "word_weights"), tensors(*words.bags())))
        else:

            def compute(positions: torch.Tensor) -> torch.Tensor:
                return module.embed_words(*tensors(*words.bags(positions.cpu().numpy())))

            rows = xp2torch(words.rows, device=device)
            n_rows = len(words.table)
            kwargs["word_vectors"] = module.word_vectors.lookup(module.char_embed, words.source, rows, n_rows, compute)
    return ArgsKwargs(args=args, kwargs=kwargs), lambda d_inputs: []


def convert_doc_vectors(
    model: Model, vectors: List[Floats2d], is_train: bool
) -> Tuple[ArgsKwargs, Callable[[ArgsKwargs], List[Floats2d]]]:
    """Each doc's token vectors as one flat tensor and the docs' lengths; the gradient of the
    flat tensor goes back split by doc."""
    module = cast(BiLSTMClassifier, torch_module(model))
    device = cast(PyTorchShim, model.shims[0]).device
    lengths = numpy.asarray([len(doc_vectors) for doc_vectors in vectors], dtype="int64")
    flat = model.ops.flatten(vectors, ndim_if_empty=2) if vectors else model.ops.alloc2f(0, module.n_inputs)
    tokens = xp2torch(model.ops.xp.ascontiguousarray(flat, dtype="float32"), requires_grad=is_train, device=device)

    def backprop(d_inputs: ArgsKwargs) -> List[Floats2d]:
        d_tokens = d_inputs.args[0]
        if d_tokens is None:
            d_tokens = torch.zeros_like(tokens)
        return model.ops.unflatten(cast(Floats2d, torch2xp(d_tokens, ops=model.ops)), lengths)

    return ArgsKwargs(args=(tokens, xp2torch(lengths, device=device)), kwargs={}), backprop


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
    Y = cast(Floats2d, torch2xp(probs, ops=model.ops))

    def backprop(dY: Floats2d) -> ArgsKwargs:
        d_probs = dY[:, 1:2] if logits.shape[1] == 1 else dY
        d_logits = xp2torch(model.ops.xp.ascontiguousarray(d_probs), device=logits.device)
        return ArgsKwargs(args=(logits,), kwargs={"grad_tensors": d_logits})

    return Y, backprop


def resize_labels(model: Model[List[Doc], Floats2d], n_labels: int) -> Model[List[Doc], Floats2d]:
    """Grow a trained classifier's output from its labels to n_labels, new labels last: the
    trained logits keep their weights and the new ones start at zero, so the odds between the
    trained labels stay as they were. A model whose head is not built yet is left for
    initialize.

    model (Model[List[Doc], Floats2d]): A model of `text_classifier`.
    n_labels (int): The new number of labels.
    RETURNS (Model[List[Doc], Floats2d]): The model, resized in place.
    """
    head = model.get_ref("output_layer")
    module = torch_module(head)
    if module is None:
        return model
    n_old = head.get_dim("nO")
    if n_labels < n_old:
        raise ValueError(f"Cannot shrink {model.name} from {n_old} to {n_labels} labels")
    if n_labels > n_old:
        cast(Any, module).grow_logits(n_logits(n_labels))
        head.set_dim("nO", n_labels, force=True)
        model.set_dim("nO", n_labels, force=True)
    return model


def forget_resized_params(model: Model, sgd: Optimizer) -> None:
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


def token_attention(model: Model[List[Doc], Floats2d], doc: Doc) -> List[Tuple[Token, float]]:
    """The attention weight of each token a BiLSTM classifier with attention pooling read in
    `doc`, in document order. The weights of a non-empty doc sum to 1; an empty doc gives [].

    With `spacy-ru-nn.TokenEmbed.v1`, whitespace tokens, tokens made only of invisible
    characters and tokens beyond `max_tokens` are not read and not listed; an embed of every
    token (such as spaCy's `MultiHashEmbed`) lists them all.

    model (Model[List[Doc], Floats2d]): A built `spacy-ru-nn.BiLSTMClassifier.v2`.
    doc (Doc): The document.
    RETURNS (List[Tuple[Token, float]]): (token, weight) pairs.
    """
    module = torch_module(model.get_ref("output_layer")) if model.has_ref("output_layer") else None
    if not model.has_ref("embed") or not isinstance(module, BiLSTMClassifier):
        raise ValueError(
            f"This model ({model.name}) has no attention weights: use spacy-ru-nn.BiLSTMClassifier.v2 "
            'with pooling = "attention".'
        )
    if module.pooling != "attention":
        raise ValueError(f"Attention weights need pooling = 'attention', this model pools with {module.pooling!r}.")
    embed = model.get_ref("embed")
    vectors = embed.predict([doc])[0]
    tokens = kept_tokens(doc, embed.attrs["max_tokens"]) if isinstance(embed, TokenEmbed) else list(doc)
    if len(tokens) != len(vectors):
        raise ValueError(f"The embed read {len(vectors)} vectors for the {len(tokens)} tokens of the doc.")
    device = cast(PyTorchShim, model.get_ref("output_layer").shims[0]).device
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            flat = xp2torch(model.ops.xp.ascontiguousarray(vectors, dtype="float32"), device=device)
            _, weights = module.encode(flat, torch.tensor([len(tokens)], device=device))
    finally:
        module.train(was_training)
    values = cast(torch.Tensor, weights)[: len(tokens), 0].tolist()
    return list(zip(tokens, values))


__all__ = [
    "bilstm_classifier_init",
    "bow_perceptron_init",
    "classifier_forward",
    "convert_features",
    "convert_logits_to_probs",
    "convert_doc_vectors",
    "forget_resized_params",
    "n_labels_from",
    "n_logits",
    "resize_labels",
    "text_classifier",
    "token_attention",
]
