"""BiLSTM text classifier: hashed token embeddings -> BiLSTM -> pooling -> sigmoid/softmax.

A recurrent text classifier, as a drop-in architecture for `nn_textcat`:

* `token_ids`: a parameter-free thinc layer that turns a batch of `Doc`s into one flat
  (n_tokens, n_attrs) array of hashed token attributes (LOWER, SHAPE, PREFIX, SUFFIX, ...),
  skipping whitespace tokens and keeping at most `max_tokens` per doc, plus each doc's length,
  each word read without invisible characters (a word made only of them is skipped too, see
  `ngrams.visible_lexeme`),
  and with `static_vectors` each token's row of the pipeline's vector table (`nlp.vocab.vectors`,
  looked up by the lowercase form; zeros for words without a vector).
* `BiLSTMClassifier`: a `torch.nn.Module` (no spaCy imports): one embedding table per
  attribute, concatenated and projected to `width`, the shared `BiLSTM` of
  `torch_modules.py` over the right-padded batch, then one pooling over the real tokens:

  - ``"last"``: the forward direction's state at the last real token and the backward
    direction's state at the first token (each direction's summary of the whole message);
  - ``"mean"`` / ``"max"``: mean or max over the real tokens;
  - ``"attention"``: additive attention, ``a = softmax(v . tanh(W h_t))`` over the real
    tokens, pooled ``sum_t a_t h_t``. The weights are exposed by `token_attention`.

  Padding never reaches a pooled vector, so a doc scores the same alone or in any batch.
  An empty doc pools to zeros and scores as the learned output bias (the prior).
* The head, the wiring and the serialization are `text_classifier`'s, shared with the
  perceptron: one logit and a sigmoid for two labels, a softmax otherwise, built at `init`
  once the labels are known.
"""
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, cast

import numpy
import torch
from spacy.attrs import IS_SPACE, LOWER
from spacy.tokens import Doc, Token
from thinc.api import ArgsKwargs, Model, NumpyOps, xp2torch
from thinc.shims import PyTorchShim
from thinc.types import Floats2d
from torch import nn

from ...lexemes import LEXEME_ATTRS
from .ngrams import LexemeColumns, token_columns, visible_lexeme
from .text_classifier import install_classifier, n_labels_from, n_logits, token_attr_id
from ...torch_glue import torch_module
from ...bilstm import BiLSTM

POOLINGS = ("last", "mean", "max", "attention")

# Featurization runs on CPU: it starts from Doc arrays, which live in numpy.
_numpy_ops = NumpyOps()


@dataclass
class TokenBatch:
    """A batch of docs as hashed token attributes, doc after doc.

    ids (numpy.ndarray): uint64 attribute values, shape (n_tokens, n_attrs).
    lengths (numpy.ndarray): int64 number of kept tokens of each doc (0 for empty docs).
    vectors (Optional[numpy.ndarray]): float32 (n_tokens, vectors_width) static vectors of the
        tokens, or None when the model uses none.
    """

    ids: numpy.ndarray
    lengths: numpy.ndarray
    vectors: Optional[numpy.ndarray] = None


def kept_tokens(doc: Doc, max_tokens: int) -> List[Token]:
    """The tokens the classifier reads: no whitespace tokens (nor any made only of invisible
    characters), at most max_tokens of them."""
    vocab = doc.vocab
    return [token for token in doc if not visible_lexeme(vocab, token.orth).is_space][:max_tokens]


def token_ids(attrs: Sequence[str], max_tokens: int, static_vectors: bool = False) -> Model[List[Doc], TokenBatch]:
    """Hashed attributes of the first `max_tokens` non-whitespace tokens of each doc.

    attrs (Sequence[str]): token attributes, e.g. ["LOWER", "SHAPE", "PREFIX", "SUFFIX"].
    max_tokens (int): longest message the BiLSTM reads; longer ones are truncated.
    static_vectors (bool): also look up each token's lowercase form in `doc.vocab.vectors`.
    RETURNS (Model[List[Doc], TokenBatch]): the featurizer layer.
    """
    columns = [token_attr_id(name, "attrs") for name in attrs]
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be positive, got {max_tokens}")
    read = [IS_SPACE, *columns, LOWER] if static_vectors else [IS_SPACE, *columns]
    return Model(
        "token_ids",
        _token_ids_forward,
        # thinc serializes these attrs with the model: keep their meaning stable.
        attrs={
            "columns": [IS_SPACE, *columns],
            "max_tokens": max_tokens,
            "static_vectors": static_vectors,
            # Lexeme attributes per distinct word (not saved); None when one is a token's own.
            "lexemes": LexemeColumns(read) if all(c in LEXEME_ATTRS for c in read) else None,
        },
    )


def _token_ids_forward(
    model: Model[List[Doc], TokenBatch], docs: List[Doc], is_train: bool
) -> Tuple[TokenBatch, Callable]:
    columns = model.attrs["columns"]
    max_tokens = model.attrs["max_tokens"]
    static_vectors = model.attrs.get("static_vectors", False)
    n_attrs = len(columns) - 1
    # With static vectors, the lowercase form (their lookup key) comes last.
    read = [*columns, LOWER] if static_vectors else columns
    tokens = token_columns(docs, read, model.attrs.get("lexemes"))
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
    if static_vectors and docs:
        vectors = _lookup_vectors(docs[0].vocab.vectors, table[:, n_attrs])
    return TokenBatch(ids, lengths, vectors), lambda d_batch: []


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


class BiLSTMClassifier(nn.Module):
    """Hashed token embeddings -> projection -> BiLSTM -> pooling -> logits.

    Tokens arrive flat (doc after doc) with the docs' lengths; the module pads them itself.
    """

    def __init__(
        self,
        rows: Sequence[int],
        embed_width: int,
        width: int,
        depth: int,
        pooling: str,
        n_logits: int,
        dropout: float = 0.0,
        vectors_width: int = 0,
    ) -> None:
        super().__init__()
        check_hyperparameters(rows=rows, embed_width=embed_width, width=width, depth=depth, pooling=pooling)
        self.rows = list(rows)
        self.pooling = pooling
        self.embeds = nn.ModuleList(nn.Embedding(n, embed_width) for n in self.rows)
        # Static vectors are data of the pipeline's vocab; only their projection is learned.
        self.vectors_width = vectors_width
        self.vectors_project = nn.Linear(vectors_width, embed_width) if vectors_width else None
        n_parts = len(self.rows) + (1 if vectors_width else 0)
        self.project = nn.Linear(embed_width * n_parts, width)
        self.lstm = BiLSTM(width, depth, dropout)
        self.dropout = nn.Dropout(dropout)
        if pooling == "attention":
            self.attention_hidden: Optional[nn.Linear] = nn.Linear(width, width)
            self.attention_score: Optional[nn.Linear] = nn.Linear(width, 1, bias=False)
        else:
            self.attention_hidden = self.attention_score = None
        self.output = nn.Linear(width, n_logits)

    def encode(
        self, ids: torch.Tensor, lengths: torch.Tensor, vectors: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Pool each doc to one vector.

        ids (torch.Tensor): int64 (n_tokens, n_attrs), already reduced modulo each table's rows.
        lengths (torch.Tensor): int64 (n_docs,).
        vectors (Optional[torch.Tensor]): float (n_tokens, vectors_width) static vectors,
            required when the module was built with vectors_width > 0.
        RETURNS: the pooled (n_docs, width) tensor and, with attention pooling, the
            (max_len, n_docs) weights (zero on padding and for empty docs), else None.
        """
        n_docs = lengths.shape[0]
        width = self.output.in_features
        max_len = int(lengths.max()) if n_docs else 0
        if max_len == 0:
            # No doc has a token: nothing may reach the LSTM; every doc pools to zeros.
            pooled = self.output.weight.new_zeros((n_docs, width))
            weights = pooled.new_zeros((0, n_docs)) if self.pooling == "attention" else None
            return pooled, weights
        parts = [embed(ids[:, i]) for i, embed in enumerate(self.embeds)]
        if self.vectors_project is not None:
            if vectors is None:
                raise ValueError("This BiLSTMClassifier was built with static vectors: pass them.")
            parts.append(self.vectors_project(vectors))
        tokens = torch.cat(parts, dim=1)
        tokens = torch.relu(self.project(self.dropout(tokens)))
        doc_index = torch.repeat_interleave(torch.arange(n_docs, device=ids.device), lengths)
        starts = torch.cumsum(lengths, 0) - lengths
        positions = torch.arange(tokens.shape[0], device=ids.device) - starts[doc_index]
        padded = tokens.new_zeros((max_len, n_docs, width))
        padded = padded.index_put((positions, doc_index), tokens)
        hidden = self.dropout(self.lstm(padded, lengths))
        mask = torch.arange(max_len, device=ids.device).unsqueeze(1) < lengths.unsqueeze(0)
        has_tokens = (lengths > 0).unsqueeze(1)
        weights = None
        if self.pooling == "last":
            half = width // 2
            last = (lengths - 1).clamp(min=0)
            columns = torch.arange(n_docs, device=ids.device)
            forward_state = hidden[last, columns, :half]
            backward_state = hidden[0, :, half:]
            pooled = torch.cat([forward_state, backward_state], dim=1) * has_tokens
        elif self.pooling == "mean":
            total = (hidden * mask.unsqueeze(2)).sum(dim=0)
            pooled = total / lengths.clamp(min=1).unsqueeze(1).to(total.dtype)
        elif self.pooling == "max":
            masked = hidden.masked_fill(~mask.unsqueeze(2), float("-inf")).max(dim=0).values
            # An empty doc's column is all -inf: zero it (where, so no inf reaches a gradient).
            pooled = torch.where(has_tokens, masked, torch.zeros_like(masked))
        else:
            attention_hidden = cast(nn.Linear, self.attention_hidden)
            attention_score = cast(nn.Linear, self.attention_score)
            scores = attention_score(torch.tanh(attention_hidden(hidden))).squeeze(2)
            # A large negative, not -inf: an empty doc's all-masked column stays finite
            # (uniform over padding, then zeroed by the mask) instead of NaN.
            scores = scores.masked_fill(~mask, -1e9)
            weights = torch.softmax(scores, dim=0) * mask
            pooled = (weights.unsqueeze(2) * hidden).sum(dim=0)
        return pooled, weights

    def forward(
        self, ids: torch.Tensor, lengths: torch.Tensor, vectors: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        pooled, _ = self.encode(ids, lengths, vectors)
        return self.output(self.dropout(pooled))

    def config(self) -> Dict[str, Any]:
        """The constructor arguments, written next to the weights."""
        return {
            "rows": self.rows,
            "embed_width": self.embeds[0].embedding_dim,
            "width": self.output.in_features,
            "depth": len(self.lstm.forward_layers),
            "pooling": self.pooling,
            "n_logits": self.output.out_features,
            "dropout": self.dropout.p,
            "vectors_width": self.vectors_width,
        }


def check_hyperparameters(
    *, rows: Sequence[int], embed_width: int, width: int, depth: int, pooling: str
) -> None:
    """Raise ValueError on sizes or a pooling the module cannot be built with (checked by the
    registered builder too, so that a bad config fails at add_pipe, not at initialize)."""
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    if not rows or any(n < 1 for n in rows):
        raise ValueError(f"rows needs one positive bucket count per attribute, got {list(rows)}")
    if embed_width < 1 or depth < 1:
        raise ValueError(f"embed_width and depth must be positive, got {embed_width}, {depth}")
    if width < 2 or width % 2:
        raise ValueError(f"width must be even (two LSTM directions), got {width}")


def _module_inputs(
    batch: TokenBatch, module: BiLSTMClassifier, device: torch.device
) -> Tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
    # Attribute hashes are uint64: reduce modulo each table, then cast (torch has no uint64 ids).
    rows = numpy.asarray(module.rows, dtype="uint64")
    ids = (batch.ids % rows).astype("int64") if len(batch.ids) else numpy.zeros((0, len(rows)), dtype="int64")
    vectors = None
    if module.vectors_width:
        if batch.vectors is None or batch.vectors.shape[1] != module.vectors_width:
            got = None if batch.vectors is None else batch.vectors.shape[1]
            raise ValueError(
                f"The model was trained with {module.vectors_width}-d static vectors, but the "
                f"pipeline's vocab gives {got}: load the pipeline together with its vectors."
            )
        vectors = xp2torch(batch.vectors, device=device)
    return xp2torch(ids, device=device), xp2torch(batch.lengths, device=device), vectors


def convert_token_inputs(
    model: Model, batch: TokenBatch, is_train: bool
) -> Tuple[ArgsKwargs, Callable[[Any], List]]:
    """Move a token batch to torch; integer inputs have no gradient to pass back."""
    shim = cast(PyTorchShim, model.shims[0])
    module = cast(BiLSTMClassifier, torch_module(model))
    args = _module_inputs(batch, module, shim.device)
    return ArgsKwargs(args=args, kwargs={}), lambda d_inputs: []


def bilstm_classifier_init(
    model: Model[List[Doc], Floats2d],
    X: Optional[List[Doc]] = None,
    Y: Optional[Floats2d] = None,
) -> None:
    """Build the torch module once the number of labels (Y's columns) is known."""
    n_labels = n_labels_from(model, Y)
    attrs = model.attrs
    vectors_width = 0
    if attrs["static_vectors"]:
        # The vectors are the pipeline's ([initialize] vectors), read from the docs' vocab.
        vectors_width = X[0].vocab.vectors.shape[1] if X else 0
        if not vectors_width:
            raise ValueError(
                "static_vectors = true, but the pipeline has no vectors: set [initialize] "
                "vectors (e.g. a pipeline with vectors) or static_vectors = false."
            )
    module = BiLSTMClassifier(
        attrs["rows"],
        attrs["embed_width"],
        attrs["width"],
        attrs["depth"],
        attrs["pooling"],
        n_logits(n_labels),
        # Dropout comes from `[training] dropout` through set_torch_dropout_rate.
        dropout=0.0,
        vectors_width=vectors_width,
    )
    install_classifier(model, module, n_labels)


def token_attention(model: Model[List[Doc], Floats2d], doc: Doc) -> List[Tuple[Token, float]]:
    """The attention weight of each token the classifier read in `doc`.

    Whitespace tokens, tokens made only of invisible characters and tokens beyond
    `max_tokens` are not read and are not listed. The
    weights of a non-empty doc sum to 1; an empty doc gives [].

    model (Model[List[Doc], Floats2d]): a built `spacy-ru-nn.BiLSTMClassifier.v1` with
        pooling = "attention".
    doc (Doc): the document.
    RETURNS (List[Tuple[Token, float]]): (token, weight) pairs in document order.
    """
    wrapper = model.get_ref("output_layer")
    module = cast(Optional[BiLSTMClassifier], torch_module(wrapper))
    if module is None:
        raise ValueError("The BiLSTM classifier is not initialized: train it or load a trained one.")
    if module.pooling != "attention":
        raise ValueError(f"Attention weights need pooling = 'attention', this model pools with {module.pooling!r}.")
    featurizer = model.get_ref("featurizer")
    batch = featurizer.predict([doc])
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            _, weights = module.encode(*_module_inputs(batch, module, wrapper.shims[0].device))
    finally:
        module.train(was_training)
    tokens = kept_tokens(doc, featurizer.attrs["max_tokens"])
    values = cast(torch.Tensor, weights)[: len(tokens), 0].tolist()
    return list(zip(tokens, values))
