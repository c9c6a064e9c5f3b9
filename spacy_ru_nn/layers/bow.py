"""Bag-of-n-grams perceptron: a thinc featurizer, a plain torch module and the glue between.

The pieces, in the order data flows through them:

* `bag_of_ngrams`: a parameter-free thinc layer that turns a batch of `Doc`s into one
  flat array of uint64 keys (word n-grams, plus unigrams of extra token attributes such
  as SHAPE) and the index of the doc each key came from. The whole batch is featurized
  with one `ops.ngrams` call per n, never per message.
* `BoWPerceptron`: a `torch.nn.Module` with no spaCy imports. It maps keys to feature
  ids (hash buckets or a fitted vocabulary), weights them (count, binary or tf-idf) and
  runs `EmbeddingBag(mode="sum") -> act -> [Linear -> act] * (depth - 1) -> Linear`.
  A sum-mode `EmbeddingBag` with `per_sample_weights` *is* the first `Linear` layer
  applied to the sparse weighted count vector, without ever materializing that vector.
* Conversion and serialization functions for `PyTorchWrapper.v3`, and the `init`
  that fits the vocabulary / idf statistics and builds the module once the number of
  labels is known. The wrapper is created eagerly with an empty shim and its
  serializer writes the module's constructor arguments next to the weights, so a
  pipeline loads from disk without running `init` (spaCy #8319, thinc #796).
"""
import io
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, cast

import numpy
import srsly
import torch
from spacy.attrs import IDS, IS_SPACE, LOWER, ORTH
from spacy.strings import hash_string
from spacy.tokens import Doc
from thinc.api import ArgsKwargs, Model, NumpyOps, PyTorchWrapper_v3, torch2xp, xp2torch
from thinc.shims import PyTorchShim
from thinc.types import Floats2d
from thinc.util import get_torch_default_device

WEIGHTINGS = ("count", "binary", "tfidf")
ACTIVATIONS = ("relu", "tanh")
FEATURES = ("hash", "vocab")

# Featurization always runs on CPU: it starts from Doc arrays, which live in numpy.
_numpy_ops = NumpyOps()


@dataclass
class BagOfNgrams:
    """A batch of documents as a flat bag of n-gram keys.

    keys (numpy.ndarray): uint64 hashes of the word n-grams and token attribute values.
    doc_ids (numpy.ndarray): int64 index of the doc each key belongs to.
    n_docs (int): number of docs in the batch, including docs without any key.
    """

    keys: numpy.ndarray
    doc_ids: numpy.ndarray
    n_docs: int


def bag_of_ngrams(
    ngram_range: Tuple[int, int], lowercase: bool, token_attrs: Sequence[str] = ()
) -> Model[List[Doc], BagOfNgrams]:
    """Extract word n-gram keys from a batch of docs, skipping whitespace tokens.

    ngram_range (Tuple[int, int]): smallest and largest n, e.g. (1, 2) for uni+bigrams.
    lowercase (bool): hash LOWER instead of ORTH.
    token_attrs (Sequence[str]): further token attributes added as unigram features,
        e.g. ["SHAPE"], so "09061701461" and "08712300220" share the feature "dddd".
    RETURNS (Model[List[Doc], BagOfNgrams]): the featurizer layer.
    """
    if len(ngram_range) != 2:
        raise ValueError(f"ngram_range must be [min_n, max_n], got {list(ngram_range)}")
    min_n, max_n = ngram_range
    if not 1 <= min_n <= max_n:
        raise ValueError(f"ngram_range must satisfy 1 <= min <= max, got {list(ngram_range)}")
    attr_ids = [_attr_id(name) for name in token_attrs]
    # Each extra attribute's values are salted with its own hash, so the shape "xxxx"
    # and the word "xxxx" are different features.
    salts = [numpy.uint64(hash_string(name.upper())) for name in token_attrs]
    return Model(
        "bag_of_ngrams",
        _bag_of_ngrams_forward,
        attrs={
            "ngram_range": (min_n, max_n),
            "columns": [LOWER if lowercase else ORTH, IS_SPACE, *attr_ids],
            "salts": salts,
        },
    )


def _attr_id(name: str) -> int:
    if name.upper() not in IDS or name.upper() in ("IS_SPACE", ""):
        raise ValueError(f"Unknown token attribute {name!r} in token_attrs (e.g. 'SHAPE', 'NORM')")
    return IDS[name.upper()]


def _bag_of_ngrams_forward(
    model: Model[List[Doc], BagOfNgrams], docs: List[Doc], is_train: bool
) -> Tuple[BagOfNgrams, Callable]:
    min_n, max_n = model.attrs["ngram_range"]
    columns = model.attrs["columns"]
    arrays = [doc.to_array(columns) for doc in docs]
    lengths = numpy.asarray([len(arr) for arr in arrays], dtype="int64")
    if lengths.sum() == 0:
        empty = BagOfNgrams(
            numpy.zeros((0,), dtype="uint64"), numpy.zeros((0,), dtype="int64"), len(docs)
        )
        return empty, lambda d_bag: []
    tokens = numpy.concatenate(arrays)
    # Whitespace tokens are layout, not words: "hi  there" and "hi there" get the same bag.
    is_word = tokens[:, 1] == 0
    tokens = tokens[is_word]
    words = numpy.ascontiguousarray(tokens[:, 0])
    word_docs = numpy.repeat(numpy.arange(len(docs), dtype="int64"), lengths)[is_word]
    keys = []
    doc_ids = []
    for n in range(min_n, max_n + 1):
        if n == 1:
            keys.append(words)
            doc_ids.append(word_docs)
            continue
        if len(words) < n:
            break
        # One hash call for the whole batch; n-grams that straddle two docs are dropped.
        grams = _numpy_ops.ngrams(n, words)
        starts = word_docs[: len(grams)]
        inside = starts == word_docs[n - 1 :]
        keys.append(grams[inside])
        doc_ids.append(starts[inside])
    for column, salt in enumerate(model.attrs["salts"], start=2):
        keys.append(tokens[:, column] ^ salt)
        doc_ids.append(word_docs)
    bag = BagOfNgrams(numpy.concatenate(keys), numpy.concatenate(doc_ids), len(docs))
    # Integer features have no gradient to pass back.
    return bag, lambda d_bag: []


def check_hyperparameters(*, weighting: str, activation: str, depth: int) -> None:
    """Raise ValueError for values BoWPerceptron cannot build."""
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    if not 1 <= depth <= 3:
        raise ValueError(f"depth (number of hidden layers) must be 1 to 3, got {depth}")


class BoWPerceptron(torch.nn.Module):
    """Multi-layer perceptron over a weighted bag of n-gram features.

    The module owns everything that has to survive serialization: the weights, the
    sorted vocabulary keys (features="vocab") and the idf table (weighting="tfidf")
    are registered buffers, so `state_dict` carries them.
    """

    def __init__(
        self,
        n_features: int,
        n_logits: int,
        *,
        hidden_width: int,
        depth: int,
        activation: str,
        dropout: float,
        weighting: str,
        hashed: bool,
    ) -> None:
        super().__init__()
        check_hyperparameters(weighting=weighting, activation=activation, depth=depth)
        self.n_features = n_features
        self.weighting = weighting
        self.hashed = hashed
        self.embed = torch.nn.EmbeddingBag(n_features, hidden_width, mode="sum")
        # EmbeddingBag's N(0, 1) init suits lookups, not a linear layer over ~20 features.
        torch.nn.init.normal_(self.embed.weight, std=hidden_width**-0.5)
        self.embed_bias = torch.nn.Parameter(torch.zeros(hidden_width))
        self.hidden = torch.nn.ModuleList(
            torch.nn.Linear(hidden_width, hidden_width) for _ in range(depth - 1)
        )
        self.activation = torch.nn.ReLU() if activation == "relu" else torch.nn.Tanh()
        self.dropout = torch.nn.Dropout(dropout)
        self.output = torch.nn.Linear(hidden_width, n_logits)
        self.register_buffer(
            "vocab_keys", torch.zeros(0 if hashed else n_features, dtype=torch.int64)
        )
        self.register_buffer(
            "idf", torch.ones(n_features if weighting == "tfidf" else 0)
        )

    def feature_ids(self, keys: torch.Tensor) -> torch.Tensor:
        """Map int64 keys to feature ids; -1 marks n-grams outside the vocabulary.

        With hashing the keys are already bucket ids (`% n_buckets` is taken on the
        uint64 values before they reach torch).
        """
        if self.hashed:
            return keys
        position = torch.searchsorted(self.vocab_keys, keys).clamp_(max=self.n_features - 1)
        return torch.where(self.vocab_keys[position] == keys, position, -1)

    def forward(self, keys: torch.Tensor, doc_ids: torch.Tensor, n_docs: int) -> torch.Tensor:
        """Return logits of shape (n_docs, n_logits) for a flat bag of keys."""
        ids = self.feature_ids(keys)
        known = ids >= 0
        ids, doc_ids = ids[known], doc_ids[known]
        # One row per (doc, feature), sorted by doc: EmbeddingBag's offsets layout.
        pairs, counts = torch.unique(doc_ids * self.n_features + ids, return_counts=True)
        doc_ids = torch.div(pairs, self.n_features, rounding_mode="floor")
        ids = pairs - doc_ids * self.n_features
        if self.weighting == "binary":
            weights = torch.ones_like(ids, dtype=self.embed.weight.dtype)
        else:
            weights = counts.to(self.embed.weight.dtype)
        if self.weighting == "tfidf":
            weights = weights * self.idf[ids]
            norms = torch.zeros(n_docs, dtype=weights.dtype, device=weights.device)
            norms.index_add_(0, doc_ids, weights * weights)
            weights = weights / norms.sqrt().clamp_min(1e-12)[doc_ids]
        bag_sizes = torch.bincount(doc_ids, minlength=n_docs)
        offsets = torch.cumsum(bag_sizes, 0) - bag_sizes
        hidden = self.embed(ids, offsets, per_sample_weights=weights) + self.embed_bias
        hidden = self.dropout(self.activation(hidden))
        for layer in self.hidden:
            hidden = self.dropout(self.activation(self._linear(layer, hidden)))
        return self._linear(self.output, hidden)

    def _linear(self, layer: torch.nn.Linear, x: torch.Tensor) -> torch.Tensor:
        """`layer(x)`, computed at inference so that a row's result does not depend on the
        other rows: BLAS picks kernels and blocking by matrix shape, so a matmul rounds a
        doc's logits differently in batches of 1, 7 or 1000 docs. A product and a sum per
        row rounds the same way in any batch (issue 6). Training keeps the fast matmul."""
        if self.training:
            return layer(x)
        return (x.unsqueeze(1) * layer.weight).sum(-1) + layer.bias


def bow_perceptron_init(
    model: Model[List[Doc], Floats2d],
    X: Optional[List[Doc]] = None,
    Y: Optional[Floats2d] = None,
) -> None:
    """Fit vocabulary / idf statistics on X and build the torch module sized by Y.

    X should be the whole training set, not a 10-doc sample: the vocabulary and the
    document frequencies are data, not shapes.
    """
    if Y is not None:
        model.set_dim("nO", Y.shape[1])
    if not model.has_dim("nO"):
        raise ValueError("BoWPerceptron needs nO (the number of labels): pass Y to initialize.")
    n_labels = model.get_dim("nO")
    if n_labels < 2:
        raise ValueError(f"BoWPerceptron needs at least 2 labels, got nO={n_labels}")
    featurizer = model.get_ref("featurizer")
    wrapper = model.get_ref("output_layer")
    attrs = model.attrs
    hashed = attrs["features"] == "hash"
    keys, doc_freqs, n_docs = _document_frequencies(featurizer, X or [], attrs["n_buckets"])
    if hashed:
        n_features = attrs["n_buckets"]
        vocab = None
        doc_freq_table = numpy.bincount(keys.astype("int64"), doc_freqs, minlength=n_features)
    else:
        frequent = doc_freqs >= attrs["min_df"]
        if not frequent.any():
            raise ValueError(
                f"No n-gram occurs in at least min_df={attrs['min_df']} of the "
                f"{n_docs} initialization docs, so the vocabulary would be empty."
            )
        # Sorted as int64, the order torch.searchsorted sees in BoWPerceptron.feature_ids.
        signed_keys = keys[frequent].view("int64")
        order = numpy.argsort(signed_keys)
        vocab = signed_keys[order]
        doc_freq_table = doc_freqs[frequent][order]
        n_features = len(vocab)
    module = BoWPerceptron(
        n_features,
        1 if n_labels == 2 else n_labels,
        hidden_width=attrs["hidden_width"],
        depth=attrs["depth"],
        activation=attrs["activation"],
        # Dropout comes from `[training] dropout` through set_torch_dropout_rate.
        dropout=0.0,
        weighting=attrs["weighting"],
        hashed=hashed,
    )
    with torch.no_grad():
        if vocab is not None:
            module.vocab_keys.copy_(torch.from_numpy(vocab))
        if attrs["weighting"] == "tfidf":
            # Smoothed idf, as scikit-learn's TfidfVectorizer: ln((1 + N) / (1 + df)) + 1.
            idf = numpy.log((1.0 + n_docs) / (1.0 + doc_freq_table)) + 1.0
            module.idf.copy_(torch.from_numpy(idf.astype("float32")))
    # The shim was built with no module; a module created later is not moved (P3).
    shim = cast(PyTorchShim, wrapper.shims[0])
    shim._model = module.to(get_torch_default_device())
    wrapper.set_dim("nO", n_labels)


def _document_frequencies(
    featurizer: Model[List[Doc], BagOfNgrams], docs: Sequence[Doc], n_buckets: int
) -> Tuple[numpy.ndarray, numpy.ndarray, int]:
    """Return the distinct keys (bucket ids when hashing) and their document frequency."""
    per_batch = []
    for start in range(0, len(docs), 1000):
        bag = featurizer.predict(list(docs[start : start + 1000]))
        keys = bag.keys % numpy.uint64(n_buckets) if n_buckets else bag.keys
        # Count each key once per doc: unique (doc, key) pairs.
        pairs = numpy.unique(numpy.stack([bag.doc_ids.astype("uint64"), keys]), axis=1)
        per_batch.append(pairs[1])
    if not per_batch:
        return numpy.zeros((0,), dtype="uint64"), numpy.zeros((0,), dtype="int64"), 0
    keys, counts = numpy.unique(numpy.concatenate(per_batch), return_counts=True)
    return keys, counts, len(docs)


def convert_bag_inputs(
    model: Model, bag: BagOfNgrams, is_train: bool
) -> Tuple[ArgsKwargs, Callable[[Any], List]]:
    """Move a bag to torch: bucket ids (uint64 % n_buckets, P8) or int64-viewed keys."""
    shim = cast(PyTorchShim, model.shims[0])
    module = cast(BoWPerceptron, shim._model)
    if module.hashed:
        keys = (bag.keys % numpy.uint64(module.n_features)).astype("int64")
    else:
        keys = bag.keys.view("int64")
    device = shim.device
    args = (xp2torch(keys, device=device), xp2torch(bag.doc_ids, device=device), bag.n_docs)
    return ArgsKwargs(args=args, kwargs={}), lambda d_inputs: []


def convert_logits_to_probs(
    model: Model, X_Ytorch: Tuple[BagOfNgrams, torch.Tensor], is_train: bool
) -> Tuple[Floats2d, Callable[[Floats2d], ArgsKwargs]]:
    """Turn logits into one probability column per label.

    Two labels use one logit and a sigmoid (column 1 is p, column 0 is 1 - p); more
    use a softmax. The backward pass takes `probs - truths`, the gradient of the
    cross-entropy with respect to the logits, as thinc's Softmax layer does (P7).
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
        d_logits = dY[:, 1:2] if logits.shape[1] == 1 else dY
        d_logits = xp2torch(model.ops.xp.ascontiguousarray(d_logits), device=logits.device)
        return ArgsKwargs(args=(logits,), kwargs={"grad_tensors": d_logits})

    return Y, backprop


def serialize_bow_perceptron(module: Optional[BoWPerceptron]) -> bytes:
    """Write the constructor arguments with the weights, so loading can rebuild the module."""
    if module is None:
        return srsly.msgpack_dumps({"config": None, "state": b""})
    config = {
        "n_features": module.n_features,
        "n_logits": module.output.out_features,
        "hidden_width": module.embed.embedding_dim,
        "depth": len(module.hidden) + 1,
        "activation": "relu" if isinstance(module.activation, torch.nn.ReLU) else "tanh",
        "dropout": module.dropout.p,
        "weighting": module.weighting,
        "hashed": module.hashed,
    }
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    return srsly.msgpack_dumps({"config": config, "state": buffer.getvalue()})


def deserialize_bow_perceptron(
    module: Optional[BoWPerceptron], data: bytes, device: torch.device
) -> Optional[BoWPerceptron]:
    """Rebuild the module from its serialized config and load its weights."""
    msg = srsly.msgpack_loads(data)
    if msg["config"] is None:
        return None
    config: Dict[str, Any] = dict(msg["config"])
    module = BoWPerceptron(config.pop("n_features"), config.pop("n_logits"), **config)
    state = torch.load(io.BytesIO(msg["state"]), map_location=device, weights_only=True)
    module.load_state_dict(state)
    return module.to(device)


def set_torch_dropout_rate(model: Model, drop: float) -> None:
    """Push spaCy's `[training] dropout` into the torch Dropout (thinc can't, P4)."""
    module = model.get_ref("output_layer").shims[0]._model
    if module is not None:
        module.dropout.p = drop


def is_built(model: Model) -> bool:
    """Whether `init` has built the torch module (i.e. the model can predict)."""
    return model.get_ref("output_layer").shims[0]._model is not None


def bow_perceptron(
    *,
    features: str,
    n_buckets: int,
    min_df: int,
    ngram_range: Tuple[int, int],
    lowercase: bool,
    token_attrs: Sequence[str],
    weighting: str,
    hidden_width: int,
    depth: int,
    activation: str,
    nO: Optional[int] = None,
) -> Model[List[Doc], Floats2d]:
    """Assemble featurizer and (still empty) torch wrapper; see build_bow_perceptron_v1."""
    if features not in FEATURES:
        raise ValueError(f"features must be one of {FEATURES}, got {features!r}")
    # Checked here too, so a bad config fails at add_pipe rather than at initialize.
    check_hyperparameters(weighting=weighting, activation=activation, depth=depth)
    if features == "hash" and n_buckets < 1:
        raise ValueError(f"n_buckets must be positive with features='hash', got {n_buckets}")
    featurizer = bag_of_ngrams(ngram_range, lowercase, token_attrs)
    wrapper = PyTorchWrapper_v3(
        None,
        convert_inputs=convert_bag_inputs,
        convert_outputs=convert_logits_to_probs,
        serialize_model=serialize_bow_perceptron,
        deserialize_model=deserialize_bow_perceptron,
    )
    return Model(
        "bow_perceptron",
        featurize_and_classify_forward,
        init=bow_perceptron_init,
        layers=[featurizer, wrapper],
        refs={"featurizer": featurizer, "output_layer": wrapper},
        dims={"nO": nO},
        attrs={
            "features": features,
            "n_buckets": n_buckets if features == "hash" else 0,
            "min_df": min_df,
            "hidden_width": hidden_width,
            "depth": depth,
            "activation": activation,
            "weighting": weighting,
            "set_dropout_rate": set_torch_dropout_rate,
        },
    )


def featurize_and_classify_forward(
    model: Model[List[Doc], Floats2d], docs: List[Doc], is_train: bool
) -> Tuple[Floats2d, Callable[[Floats2d], List]]:
    """Forward of a text classifier made of a featurizer without weights (docs -> tensors)
    and a torch wrapper (tensors -> probabilities): the gradient stops at the wrapper."""
    featurizer, wrapper = model.layers
    features, _ = featurizer(docs, is_train)
    probs, backprop_wrapper = wrapper(features, is_train)

    def backprop(d_probs: Floats2d) -> List:
        backprop_wrapper(d_probs)
        # Docs have no gradient.
        return []

    return probs, backprop
