"""Bag-of-n-grams perceptron: a torch module over the bags of `ngrams.bag_of_ngrams`, the numpy
that weights the bags for it, and its `init`.

The pieces, in the order data flows through them:

* `bag_of_ngrams` (`ngrams.py`): docs -> a flat array of n-gram keys and their docs.
* `BoWPerceptron.sparse_rows`: maps the keys to feature ids (hash buckets, or a fitted
  vocabulary through an open-addressing table), counts each feature once per doc and
  weights it (count, binary or tf-idf, optionally sublinear). This is numpy on the CPU, a
  few vectorized passes over the batch's keys: one sort of (doc, feature) codes, no
  per-doc Python. Each doc's row depends on its own keys only, so a doc is scored the
  same alone or in any batch.
* `BoWPerceptron.char_rows`: with character n-grams, each token adds the tf-idf vector of its
  word's character n-grams (`WordCharNgrams` keeps those per distinct word, so n-grams are
  hashed and looked up once per new word, not per token). The doc's sum of them is divided
  by the root of the sum of their squared norms, the L2 norm were different words to share no
  n-gram: cheap per token, and as good on the spam folds as the exact norm.
* `BoWPerceptron.forward`: `EmbeddingBag(mode="sum") -> act -> [Linear -> act] * (depth - 1)
  -> Linear`, or for depth 0 (logistic regression) `EmbeddingBag` straight to the logits.
  A sum-mode `EmbeddingBag` with `per_sample_weights` *is* the first `Linear` layer applied
  to the sparse weighted count vector, without ever materializing that vector; the character
  part is one `EmbeddingBag` over the batch's distinct words and one over each doc's tokens.
* `bow_perceptron_init`, which fits the vocabulary / idf statistics and builds the module
  once the number of labels is known. The wiring is `text_classifier`'s; the registered
  builder (`architectures.py`) puts the pieces together.
"""
import functools
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, cast

import numpy
import torch
from spacy.tokens import Doc
from thinc.api import ArgsKwargs, Model, xp2torch
from thinc.shims import PyTorchShim
from thinc.types import Floats2d

from .ngrams import (
    BagOfNgrams,
    GrowingArray,
    KeyTable,
    TokenWords,
    count_pairs,
    offsets_of,
    ragged_take,
    rows_adding,
)
from .text_classifier import install_classifier, n_labels_from, n_logits
from ...torch_glue import torch_module

WEIGHTINGS = ("count", "binary", "tfidf")
ACTIVATIONS = ("relu", "tanh")
FEATURES = ("hash", "vocab")
INITS = ("default", "zeros")
MAX_DEPTH = 3
# Distinct words whose character n-grams are kept between batches; past that the table
# starts over, so a long stream of new words costs time, never unbounded memory.
MAX_CACHED_WORDS = 1 << 18


def check_hyperparameters(*, weighting: str, activation: str, depth: int, init: str = "default") -> None:
    """Raise ValueError for values BoWPerceptron cannot build."""
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    if not 0 <= depth <= MAX_DEPTH:
        raise ValueError(
            f"depth (number of hidden layers) must be 0 (logistic regression) to {MAX_DEPTH}, got {depth}"
        )
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")


class WordCharNgrams:
    """The character n-gram features of the distinct words seen so far: for each word (a row,
    found by its key), its n-gram ids in the module's char vocabulary, their weights and the
    squared norm of those weights. Data, not weights: valid until the vocabulary changes."""

    def __init__(self, to_ids: Callable[[numpy.ndarray], numpy.ndarray], n_ids: int, idf: Optional[numpy.ndarray], binary: bool) -> None:
        self.to_ids = to_ids
        self.n_ids = n_ids
        self.idf = idf
        self.binary = binary
        self.generation = 0
        self.clear()

    def clear(self) -> None:
        self.generation += 1
        self.table = KeyTable()
        self.starts = GrowingArray("int64")
        self.lengths = GrowingArray("int64")
        self.sq_norms = GrowingArray("float64")
        self.ids = GrowingArray("int64")
        self.weights = GrowingArray("float32")

    def rows(self, words: TokenWords) -> numpy.ndarray:
        """The row of each token's word, adding the words not seen before."""

        def start_over() -> KeyTable:
            self.clear()
            return self.table

        add = functools.partial(self._add, char_ngrams=words.char_ngrams)
        return rows_adding(self.table, words.keys.view("int64"), MAX_CACHED_WORDS, add, start_over)

    def _add(self, new: numpy.ndarray, char_ngrams: Callable) -> None:
        gram_keys, n_grams = char_ngrams(new.view("uint64"))
        ids = self.to_ids(gram_keys)
        owners = numpy.repeat(numpy.arange(len(new)), n_grams)
        known = ids >= 0
        owners, ids, counts = count_pairs(owners[known], ids[known], self.n_ids)
        weights = numpy.ones(len(ids)) if self.binary else counts.astype("float64")
        if self.idf is not None:
            weights *= self.idf[ids]
        lengths = numpy.bincount(owners, minlength=len(new))
        self.starts.extend(len(self.ids.values) + numpy.cumsum(lengths) - lengths)
        self.lengths.extend(lengths)
        self.sq_norms.extend(numpy.bincount(owners, weights * weights, minlength=len(new)))
        self.ids.extend(ids)
        self.weights.extend(weights.astype("float32"))

    def bags(self, rows: numpy.ndarray) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
        """EmbeddingBag inputs for the given words: n-gram ids, offsets and weights."""
        lengths = self.lengths.values[rows]
        take = ragged_take(self.starts.values[rows], lengths)
        return self.ids.values[take], numpy.cumsum(lengths) - lengths, self.weights.values[take]


class BoWPerceptron(torch.nn.Module):
    """Multi-layer perceptron over a weighted bag of n-gram features; logistic regression
    with depth 0.

    The module owns everything that has to survive serialization: the weights, the
    sorted vocabulary keys (features="vocab") and the idf tables (weighting="tfidf"), of
    the word features and of the character n-grams, are registered buffers, so `state_dict`
    carries them.
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
        sublinear_tf: bool = False,
        n_char_features: int = 0,
        init: str = "default",
    ) -> None:
        super().__init__()
        check_hyperparameters(weighting=weighting, activation=activation, depth=depth, init=init)
        self.n_features = n_features
        self.n_char_features = n_char_features
        self.n_logits = n_logits
        self.hidden_width = hidden_width
        self.depth = depth
        self.weighting = weighting
        self.sublinear_tf = sublinear_tf
        self.hashed = hashed
        first_width = hidden_width if depth else n_logits
        self.embed = torch.nn.EmbeddingBag(n_features, first_width, mode="sum")
        self.char_embed = (
            torch.nn.EmbeddingBag(n_char_features, first_width, mode="sum") if n_char_features else None
        )
        self.embed_bias = torch.nn.Parameter(torch.zeros(first_width))
        self.hidden = torch.nn.ModuleList(
            torch.nn.Linear(hidden_width, hidden_width) for _ in range(depth - 1)
        )
        self.activation = torch.nn.ReLU() if activation == "relu" else torch.nn.Tanh()
        self.dropout = torch.nn.Dropout(dropout)
        self.output = torch.nn.Linear(hidden_width, n_logits) if depth else None
        tfidf = weighting == "tfidf"
        # Only models with character n-grams have their tables, so that the state_dict of a
        # model without them is the same as before character n-grams existed.
        tables = [("", n_features)] + ([("char_", n_char_features)] if n_char_features else [])
        for prefix, size in tables:
            self.register_buffer(f"{prefix}vocab_keys", torch.zeros(0 if hashed else size, dtype=torch.int64))
            self.register_buffer(f"{prefix}idf", torch.ones(size if tfidf else 0))
        self._lookup: Optional[KeyTable] = None
        self._char_lookup: Optional[KeyTable] = None
        self._idf: Optional[numpy.ndarray] = None
        self._words: Optional[WordCharNgrams] = None
        self._vectors: Optional[torch.Tensor] = None
        self._vectors_words: Optional[WordCharNgrams] = None
        self._vectors_generation = 0
        if self.char_embed is not None:
            self.char_embed.weight.register_hook(self._drop_word_vectors)
        self.reset_parameters(init)

    def reset_parameters(self, init: str) -> None:
        """"default": random, so that hidden units differ; "zeros": every weight and bias 0,
        which a hidden layer never recovers from (all its units stay identical)."""
        if init == "zeros":
            with torch.no_grad():
                for param in self.parameters():
                    param.zero_()
            return
        # EmbeddingBag's N(0, 1) init suits lookups, not a linear layer over ~20 features.
        for table in (self.embed, self.char_embed):
            if table is not None:
                torch.nn.init.normal_(table.weight, std=table.embedding_dim**-0.5)

    def grow_logits(self, grow: Callable[[torch.Tensor, int], torch.Tensor]) -> None:
        """Replace the weights that end in the logits (the bag tables and their bias, in a
        model without hidden layers) with `grow(weight, axis)`, the labels' axis grown."""
        if self.depth:
            raise ValueError("grow_logits is for models without hidden layers; resize `output` instead")
        for table in (self.embed, self.char_embed):
            if table is not None:
                table.weight = torch.nn.Parameter(grow(table.weight, 1))
                table.embedding_dim = table.weight.shape[1]
        self.embed_bias = torch.nn.Parameter(grow(self.embed_bias, 0))
        if self.char_embed is not None:
            # The cached word vectors have the old width; the new table needs the hook again.
            self.char_embed.weight.register_hook(self._drop_word_vectors)
            self._vectors = None

    def config(self) -> Dict[str, Any]:
        """The constructor arguments, written next to the weights (init is spent by then)."""
        return {
            "n_features": self.n_features,
            "n_logits": self.n_logits,
            "hidden_width": self.hidden_width,
            "depth": self.depth,
            "activation": "relu" if isinstance(self.activation, torch.nn.ReLU) else "tanh",
            "dropout": self.dropout.p,
            "weighting": self.weighting,
            "sublinear_tf": self.sublinear_tf,
            "n_char_features": self.n_char_features,
            "hashed": self.hashed,
        }

    def set_statistics(
        self,
        vocab: Optional[numpy.ndarray],
        idf: Optional[numpy.ndarray],
        char_vocab: Optional[numpy.ndarray] = None,
        char_idf: Optional[numpy.ndarray] = None,
    ) -> None:
        """Store the fitted vocabularies (sorted int64 keys) and idf tables."""
        with torch.no_grad():
            for name, values in (("vocab_keys", vocab), ("idf", idf), ("char_vocab_keys", char_vocab), ("char_idf", char_idf)):
                if values is not None:
                    buffer = getattr(self, name)
                    buffer.copy_(torch.from_numpy(values).to(buffer.dtype))
        self._lookup = self._char_lookup = self._idf = self._words = self._vectors = None

    def _load_from_state_dict(self, *args, **kwargs):  # type: ignore[override]
        super()._load_from_state_dict(*args, **kwargs)
        # The vocabularies and idf may have changed: rebuild the numpy views on next use.
        self._lookup = self._char_lookup = self._idf = self._words = self._vectors = None

    def feature_ids(self, keys: numpy.ndarray) -> numpy.ndarray:
        """Feature id of each int64 key; -1 marks n-grams outside the vocabulary.

        With hashing the keys are already bucket ids (`% n_buckets` is taken on the
        uint64 values before they get here).
        """
        if self.hashed:
            return keys
        if self._lookup is None:
            self._lookup = KeyTable(self.vocab_keys.cpu().numpy())
        return self._lookup(keys)

    def sparse_rows(
        self, keys: numpy.ndarray, doc_ids: numpy.ndarray, n_docs: int
    ) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
        """A flat bag of keys as EmbeddingBag inputs: feature ids doc after doc (each
        feature once per doc, in id order), each doc's offset, and the features' weights."""
        ids = self.feature_ids(keys)
        known = ids >= 0
        doc_ids, ids, counts = count_pairs(doc_ids[known], ids[known], self.n_features)
        if self.weighting == "binary":
            weights = numpy.ones(len(ids), dtype="float64")
        elif self.sublinear_tf:
            weights = 1.0 + numpy.log(counts)
        else:
            weights = counts.astype("float64")
        if self.weighting == "tfidf":
            if self._idf is None:
                self._idf = self.idf.cpu().numpy().astype("float64")
            weights *= self._idf[ids]
            weights /= doc_norms(doc_ids, weights * weights, n_docs)[doc_ids]
        return ids, offsets_of(doc_ids, n_docs), weights.astype("float32")

    def char_rows(self, words: TokenWords, n_docs: int, is_train: bool) -> Dict[str, numpy.ndarray]:
        """The character n-gram part as EmbeddingBag inputs: one bag of words (an entry per
        token) per doc and, in training, one bag of n-grams per distinct word of the batch.
        At inference the words' vectors come from `word_vectors` instead."""
        if self._words is None:
            self._words = WordCharNgrams(
                self._char_ids,
                self.n_char_features,
                self.char_idf.cpu().numpy().astype("float64") if self.weighting == "tfidf" else None,
                binary=self.weighting == "binary",
            )
        rows = self._words.rows(words)
        token_weights = numpy.ones(len(rows))
        if self.weighting == "tfidf":
            sq_norms = self._words.sq_norms.values[rows]
            token_weights /= doc_norms(words.doc_ids, sq_norms, n_docs)[words.doc_ids]
        tokens = {"token_offsets": offsets_of(words.doc_ids, n_docs), "token_weights": token_weights.astype("float32")}
        if not is_train:
            return {"token_words": rows, **tokens}
        # The batch's distinct words in row order, and each token's position among them.
        present = numpy.zeros(len(self._words.table), dtype=bool)
        present[rows] = True
        distinct = numpy.flatnonzero(present)
        position = numpy.zeros(len(present), dtype="int64")
        position[distinct] = numpy.arange(len(distinct))
        char_ids, char_offsets, char_weights = self._words.bags(distinct)
        return {
            "char_ids": char_ids,
            "char_offsets": char_offsets,
            "char_weights": char_weights,
            "token_words": position[rows],
            **tokens,
        }

    def word_vectors(self) -> torch.Tensor:
        """Each known word's character n-gram vector (its part of the first layer), for
        inference: computed once per word and kept until the weights change. A gradient for
        the n-gram table (training) or loading weights (use_params, from_bytes) drops them."""
        words = cast(WordCharNgrams, self._words)
        table = cast(torch.nn.EmbeddingBag, self.char_embed)
        if self._vectors is None or self._vectors_words is not words or words.generation != self._vectors_generation:
            self._vectors = table.weight.new_zeros((0, table.embedding_dim))
            self._vectors_words, self._vectors_generation = words, words.generation
        done, n_words = self._vectors.shape[0], len(words.table)
        if done < n_words:
            device = table.weight.device
            ids, offsets, weights = (torch.from_numpy(a).to(device) for a in words.bags(numpy.arange(done, n_words)))
            with torch.no_grad():
                new = table(ids, offsets, per_sample_weights=weights)
            self._vectors = torch.cat([self._vectors, new])
        return self._vectors

    def _drop_word_vectors(self, grad: torch.Tensor) -> torch.Tensor:
        self._vectors = None
        return grad

    def _char_ids(self, keys: numpy.ndarray) -> numpy.ndarray:
        if self.hashed:
            return (keys % numpy.uint64(self.n_char_features)).astype("int64")
        if self._char_lookup is None:
            self._char_lookup = KeyTable(self.char_vocab_keys.cpu().numpy())
        return self._char_lookup(keys.view("int64"))

    def forward(
        self,
        ids: torch.Tensor,
        offsets: torch.Tensor,
        weights: torch.Tensor,
        **chars: torch.Tensor,
    ) -> torch.Tensor:
        """Return logits of shape (n_docs, n_logits) for the rows of `sparse_rows` and, with
        character n-grams, those of `char_rows`."""
        hidden = self.embed(ids, offsets, per_sample_weights=weights) + self.embed_bias
        if self.char_embed is not None and len(chars["token_words"]):
            if "char_ids" in chars:
                words = self.char_embed(chars["char_ids"], chars["char_offsets"], per_sample_weights=chars["char_weights"])
            else:
                words = self.word_vectors()
            hidden = hidden + torch.nn.functional.embedding_bag(
                chars["token_words"],
                words,
                chars["token_offsets"],
                mode="sum",
                per_sample_weights=chars["token_weights"],
            )
        if self.output is None:
            return hidden
        hidden = self.dropout(self.activation(hidden))
        for layer in self.hidden:
            hidden = self.dropout(self.activation(self._linear(layer, hidden)))
        return self._linear(self.output, hidden)

    def _linear(self, layer: torch.nn.Linear, x: torch.Tensor) -> torch.Tensor:
        """`layer(x)`, computed at inference so that a row's result does not depend on the
        other rows: BLAS picks kernels and blocking by matrix shape, so a matmul rounds a
        doc's logits differently in batches of 1, 7 or 1000 docs. A product and a sum per
        row rounds the same way in any batch. Training keeps the fast matmul."""
        if self.training:
            return layer(x)
        return (x.unsqueeze(1) * layer.weight).sum(-1) + layer.bias


def doc_norms(doc_ids: numpy.ndarray, squares: numpy.ndarray, n_docs: int) -> numpy.ndarray:
    """Each doc's root of the sum of its squares (at least 1e-12). bincount adds a doc's
    values in their order, so a doc's norm is the same in any batch."""
    return numpy.maximum(numpy.sqrt(numpy.bincount(doc_ids, squares, minlength=n_docs)), 1e-12)


def bow_perceptron_init(
    model: Model[List[Doc], Floats2d],
    X: Optional[List[Doc]] = None,
    Y: Optional[Floats2d] = None,
) -> None:
    """Fit vocabulary / idf statistics on X and build the torch module sized by Y, as the
    model's attrs say (see `check_settings`).

    X should be the whole training set, not a 10-doc sample: the vocabulary and the
    document frequencies are data, not shapes.
    """
    n_labels = n_labels_from(model, Y)
    featurizer = model.get_ref("featurizer")
    attrs = model.attrs
    docs = X or []
    words = _fit_features(_document_frequencies(featurizer, docs, attrs["n_buckets"]), attrs, len(docs))
    chars: Tuple[int, Optional[numpy.ndarray], Optional[numpy.ndarray]] = (0, None, None)
    if featurizer.attrs.get("char_ngram_range") is not None:
        chars = _fit_features(_char_document_frequencies(featurizer, docs, attrs["n_buckets"]), attrs, len(docs))
    module = BoWPerceptron(
        words[0],
        n_logits(n_labels),
        hidden_width=attrs["hidden_width"],
        depth=attrs["depth"],
        activation=attrs["activation"],
        # Dropout comes from `[training] dropout` through set_torch_dropout_rate.
        dropout=0.0,
        weighting=attrs["weighting"],
        sublinear_tf=attrs["sublinear_tf"],
        n_char_features=chars[0],
        hashed=attrs["features"] == "hash",
        init=attrs["init"],
    )
    module.set_statistics(words[1], words[2], chars[1], chars[2])
    install_classifier(model, module, n_labels)


def _fit_features(
    frequencies: Tuple[numpy.ndarray, numpy.ndarray], attrs: Dict[str, Any], n_docs: int
) -> Tuple[int, Optional[numpy.ndarray], Optional[numpy.ndarray]]:
    """The number of features, the vocabulary (sorted int64 keys; None when hashing) and the
    idf table (None unless tf-idf) for distinct keys and their document frequencies."""
    keys, doc_freqs = frequencies
    if attrs["features"] == "hash":
        n_features = attrs["n_buckets"]
        vocab = None
        doc_freqs = numpy.bincount(keys.astype("int64"), doc_freqs, minlength=n_features)
    else:
        frequent = doc_freqs >= attrs["min_df"]
        if not frequent.any():
            raise ValueError(
                f"No n-gram occurs in at least min_df={attrs['min_df']} of the "
                f"{n_docs} initialization docs, so the vocabulary would be empty."
            )
        # Sorted as int64: the vocabulary's canonical order (feature id = position).
        signed_keys = keys[frequent].view("int64")
        order = numpy.argsort(signed_keys)
        vocab = signed_keys[order]
        doc_freqs = doc_freqs[frequent][order]
        n_features = len(vocab)
    idf = None
    if attrs["weighting"] == "tfidf":
        # Smoothed idf, as scikit-learn's TfidfVectorizer: ln((1 + N) / (1 + df)) + 1.
        idf = numpy.log((1.0 + n_docs) / (1.0 + doc_freqs)) + 1.0
    return n_features, vocab, idf


def _document_frequencies(
    featurizer: Model[List[Doc], BagOfNgrams], docs: Sequence[Doc], n_buckets: int
) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """The distinct n-gram keys (bucket ids when hashing) and their document frequency."""
    per_batch = []
    for start in range(0, len(docs), 1000):
        bag = featurizer.predict(list(docs[start : start + 1000]))
        keys = bag.keys % numpy.uint64(n_buckets) if n_buckets else bag.keys
        per_batch.append(_distinct_per_doc(bag.doc_ids, keys))
    return _frequencies(per_batch)


def _char_document_frequencies(
    featurizer: Model[List[Doc], BagOfNgrams], docs: Sequence[Doc], n_buckets: int
) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """The distinct character n-gram keys (bucket ids when hashing) and their document
    frequency: in how many docs some word has the n-gram."""
    per_batch = []
    for start in range(0, len(docs), 1000):
        words = cast(TokenWords, featurizer.predict(list(docs[start : start + 1000])).words)
        distinct, position = numpy.unique(words.keys, return_inverse=True)
        gram_keys, n_grams = words.char_ngrams(distinct)
        doc_words = numpy.unique(numpy.stack([words.doc_ids, position.astype("int64")]), axis=1)
        starts = numpy.cumsum(n_grams) - n_grams
        take = ragged_take(starts[doc_words[1]], n_grams[doc_words[1]])
        keys = gram_keys[take] % numpy.uint64(n_buckets) if n_buckets else gram_keys[take]
        per_batch.append(_distinct_per_doc(numpy.repeat(doc_words[0], n_grams[doc_words[1]]), keys))
    return _frequencies(per_batch)


def _distinct_per_doc(doc_ids: numpy.ndarray, keys: numpy.ndarray) -> numpy.ndarray:
    """Each doc's distinct keys (a key appears once per doc it occurs in)."""
    return numpy.unique(numpy.stack([doc_ids.astype("uint64"), keys]), axis=1)[1]


def _frequencies(per_batch: List[numpy.ndarray]) -> Tuple[numpy.ndarray, numpy.ndarray]:
    if not per_batch:
        return numpy.zeros((0,), dtype="uint64"), numpy.zeros((0,), dtype="int64")
    return numpy.unique(numpy.concatenate(per_batch), return_counts=True)


def convert_bag_inputs(
    model: Model, bag: BagOfNgrams, is_train: bool
) -> Tuple[ArgsKwargs, Callable[[Any], List]]:
    """A bag as EmbeddingBag tensors: bucket ids (uint64 % n_buckets, cast to int64 only
    then) or int64-viewed keys, looked up and weighted by the module."""
    shim = cast(PyTorchShim, model.shims[0])
    module = cast(BoWPerceptron, torch_module(model))
    if module.hashed:
        keys = (bag.keys % numpy.uint64(module.n_features)).astype("int64")
    else:
        keys = bag.keys.view("int64")
    rows = module.sparse_rows(keys, bag.doc_ids, bag.n_docs)
    # shim.device walks the module's parameters: ask once.
    device = shim.device
    args = tuple(xp2torch(array, device=device) for array in rows)
    kwargs = {}
    if module.n_char_features:
        if bag.words is None:
            raise ValueError("This BoWPerceptron was trained with character n-grams: set char_ngram_range.")
        chars = module.char_rows(bag.words, bag.n_docs, is_train)
        kwargs = {name: xp2torch(array, device=device) for name, array in chars.items()}
    # Integer features have no gradient to pass back.
    return ArgsKwargs(args=args, kwargs=kwargs), lambda d_inputs: []


def check_settings(settings: Dict[str, Any]) -> Dict[str, Any]:
    """Check the settings `bow_perceptron_init` reads from the model's attrs (those of
    `spacy-ru-nn.BoWPerceptron.v2` but the featurizer's), so that a bad config fails at
    add_pipe rather than at initialize. RETURNS the settings, n_buckets 0 unless hashing."""
    features, n_buckets = settings["features"], settings["n_buckets"]
    if features not in FEATURES:
        raise ValueError(f"features must be one of {FEATURES}, got {features!r}")
    if features == "hash" and n_buckets < 1:
        raise ValueError(f"n_buckets must be positive with features='hash', got {n_buckets}")
    check_hyperparameters(
        weighting=settings["weighting"],
        activation=settings["activation"],
        depth=settings["depth"],
        init=settings["init"],
    )
    return {**settings, "n_buckets": n_buckets if features == "hash" else 0}
