"""`spacy-ru-nn.TokenEmbed.v1`'s layer: docs -> one vector per token read.

The vectors come from hashed token attributes and optionally the pipeline's static vectors.

A doc is read without its whitespace tokens (nor tokens made only of invisible characters),
and at most `max_tokens` of them; the layer's output has one row per token read, as
`kept_tokens` lists them. The featurizer is numpy and caches the lexeme attributes of the
words it has seen, a plain attribute of the layer; the embedding tables are a torch module,
`bilstm.TokenEmbedding`, built at initialize once the width of the static vectors is known.
"""
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Sequence, Tuple, cast

import numpy
import torch
from spacy.attrs import IS_SPACE, LOWER
from spacy.tokens import Doc
from thinc.api import ArgsKwargs, Model, NumpyOps, PyTorchWrapper_v3, torch2xp, xp2torch
from thinc.shims import PyTorchShim
from thinc.types import Floats2d

from ..torch_glue import install_module, module_deserializer, serialize_module, torch_module, torch_predict
from .bilstm import TokenEmbedding, check_embedding_settings
from .tokens import LexemeColumns, token_attr_id, token_columns

# Featurization runs on CPU: it starts from Doc arrays, which live in numpy.
_numpy_ops = NumpyOps()


@dataclass
class TokenBatch:
    """A batch of docs as hashed token attributes, doc after doc.

    ids (numpy.ndarray): uint64 attribute values, shape (n_tokens, n_attrs).
    lengths (numpy.ndarray): int64 number of tokens read of each doc (0 for empty docs).
    vectors (Optional[numpy.ndarray]): float32 (n_tokens, vectors_width) static vectors of the
        tokens, or None when the layer reads none.
    """

    ids: numpy.ndarray
    lengths: numpy.ndarray
    vectors: Optional[numpy.ndarray] = None


class TokenEmbed(Model[List[Doc], List[Floats2d]]):
    """Docs -> hashed token attributes -> `TokenEmbedding`: one (n_tokens_read, width) array
    per doc. Its dim nO is the width."""

    def __init__(
        self,
        *,
        attrs: Sequence[str],
        rows: Sequence[int],
        attr_width: int,
        width: int,
        max_tokens: int,
        static_vectors: bool,
    ) -> None:
        """Check the settings; see `spacy-ru-nn.TokenEmbed.v1` for their meaning."""
        if len(rows) != len(attrs):
            raise ValueError(f"rows needs one bucket count per attribute: {len(attrs)} attrs, {len(rows)} rows")
        check_embedding_settings(rows=rows, attr_width=attr_width, width=width)
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be positive, got {max_tokens}")
        columns = [token_attr_id(name, "attrs") for name in attrs]
        embedding = PyTorchWrapper_v3(
            None,
            convert_inputs=convert_token_batch,
            convert_outputs=convert_embedding_outputs,
            serialize_model=serialize_module,
            deserialize_model=module_deserializer(TokenEmbedding),
        )
        super().__init__(
            "token_embed",
            token_embed_forward,
            init=token_embed_init,
            layers=[embedding],
            refs={"embedding": embedding},
            dims={"nO": width},
            attrs={
                "attrs": list(attrs),
                "rows": list(rows),
                "attr_width": attr_width,
                "max_tokens": max_tokens,
                "static_vectors": static_vectors,
            },
        )
        # The columns read from each doc: IS_SPACE first, then the attributes, then the
        # lowercase form with static vectors (their lookup key).
        self.columns = [IS_SPACE, *columns, *([LOWER] if static_vectors else [])]
        # A cache, never saved: the lexeme attributes of the words seen (None when one
        # attribute is a token's own).
        self.lexemes = LexemeColumns.for_columns(self.columns)

    def featurize(self, docs: Sequence[Doc]) -> TokenBatch:
        """The hashed attributes of the first `max_tokens` non-whitespace tokens of each doc."""
        max_tokens = self.attrs["max_tokens"]
        n_attrs = len(self.attrs["attrs"])
        tokens = token_columns(docs, self.columns, self.lexemes)
        doc_ids = numpy.repeat(numpy.arange(len(docs), dtype="int64"), [len(doc) for doc in docs])
        is_word = tokens[:, 0] == 0
        tokens, doc_ids = tokens[is_word], doc_ids[is_word]
        # The first max_tokens words of each doc.
        n_words = numpy.bincount(doc_ids, minlength=len(docs))
        position = numpy.arange(len(doc_ids)) - (numpy.cumsum(n_words) - n_words)[doc_ids]
        table = numpy.ascontiguousarray(tokens[position < max_tokens, 1:], dtype="uint64")
        lengths = numpy.minimum(n_words, max_tokens).astype("int64")
        ids = numpy.ascontiguousarray(table[:, :n_attrs])
        vectors = None
        if self.attrs["static_vectors"] and docs:
            vectors = _lookup_vectors(docs[0].vocab.vectors, table[:, n_attrs])
        return TokenBatch(ids, lengths, vectors)


def token_embed_forward(
    model: TokenEmbed, docs: List[Doc], is_train: bool
) -> Tuple[List[Floats2d], Callable[[List[Floats2d]], List]]:
    embedding = model.get_ref("embedding")
    batch = model.featurize(docs)
    if not is_train:
        vectors = torch_predict(embedding, batch)
        return model.ops.unflatten(vectors, batch.lengths), lambda d_vectors: []
    vectors, backprop_embedding = embedding(batch, is_train)

    def backprop(d_vectors: List[Floats2d]) -> List:
        backprop_embedding(model.ops.flatten(d_vectors, ndim_if_empty=2))
        return []

    return model.ops.unflatten(vectors, batch.lengths), backprop


def token_embed_init(model: TokenEmbed, X: Optional[List[Doc]] = None, Y: Optional[Any] = None) -> None:
    """Build the embedding module; with static vectors, their width comes from X's vocab."""
    vectors_width = 0
    if model.attrs["static_vectors"]:
        # The vectors are the pipeline's ([initialize] vectors), read from the docs' vocab.
        vectors_width = X[0].vocab.vectors.shape[1] if X else 0
        if not vectors_width:
            raise ValueError(
                "static_vectors = true, but the pipeline has no vectors: set [initialize] "
                "vectors (e.g. a pipeline with vectors) or static_vectors = false."
            )
    module = TokenEmbedding(
        model.attrs["rows"],
        model.attrs["attr_width"],
        model.get_dim("nO"),
        # Dropout comes from `[training] dropout` through set_torch_dropout_rate.
        dropout=0.0,
        vectors_width=vectors_width,
    )
    embedding = model.get_ref("embedding")
    install_module(embedding, module)
    embedding.set_dim("nO", model.get_dim("nO"))


def convert_token_batch(model: Model, batch: TokenBatch, is_train: bool) -> Tuple[ArgsKwargs, Callable[[Any], List]]:
    """A token batch as tensors: attribute hashes are uint64, so they are reduced modulo each
    table's rows before the cast to int64 (torch has no uint64 ids). Integer inputs have no
    gradient to pass back, and the static vectors are data."""
    module = cast(TokenEmbedding, torch_module(model))
    device = cast(PyTorchShim, model.shims[0]).device
    rows = numpy.asarray(module.rows, dtype="uint64")
    ids = (batch.ids % rows).astype("int64") if len(batch.ids) else numpy.zeros((0, len(rows)), dtype="int64")
    kwargs = {}
    if module.vectors_width:
        if batch.vectors is None or batch.vectors.shape[1] != module.vectors_width:
            got = None if batch.vectors is None else batch.vectors.shape[1]
            raise ValueError(
                f"The model was trained with {module.vectors_width}-d static vectors, but the "
                f"pipeline's vocab gives {got}: load the pipeline together with its vectors."
            )
        kwargs["vectors"] = xp2torch(batch.vectors, device=device)
    return ArgsKwargs(args=(xp2torch(ids, device=device),), kwargs=kwargs), lambda d_inputs: []


def convert_embedding_outputs(
    model: Model, X_Ytorch: Tuple[TokenBatch, torch.Tensor], is_train: bool
) -> Tuple[Floats2d, Callable[[Floats2d], ArgsKwargs]]:
    """The token vectors as one flat array; the gradient goes back as torch expects it."""
    _, Ytorch = X_Ytorch
    Y = cast(Floats2d, torch2xp(Ytorch, ops=model.ops))

    def backprop(dY: Floats2d) -> ArgsKwargs:
        dYtorch = xp2torch(model.ops.xp.ascontiguousarray(dY), device=Ytorch.device)
        return ArgsKwargs(args=(Ytorch,), kwargs={"grad_tensors": dYtorch})

    return Y, backprop


def _lookup_vectors(table: Any, keys: numpy.ndarray) -> numpy.ndarray:
    """Rows of a spaCy vector table for the given keys; zeros where a key has no vector."""
    if table.mode != "default":
        raise ValueError(f"static_vectors needs a default-mode vector table, not {table.mode!r}")
    data = _numpy_ops.to_numpy(table.data)
    if len(keys) == 0 or data.shape[0] == 0:
        return numpy.zeros((len(keys), data.shape[1]), dtype="float32")
    rows = numpy.asarray(table.find(keys=keys), dtype="int64")
    vectors = data[numpy.clip(rows, 0, None)].astype("float32")
    vectors[rows < 0] = 0.0
    return vectors


__all__ = ["TokenBatch", "TokenEmbed"]
