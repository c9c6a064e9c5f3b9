"""The bag-of-words perceptron as a torch module: weighted bags of feature ids -> logits."""
from typing import Any, Callable, Dict, Optional, Tuple

import torch
from torch import nn

from ..compat import tensor_version

ACTIVATIONS = ("relu", "tanh")
INITS = ("default", "zeros")
MAX_DEPTH = 3


def check_mlp_settings(*, depth: int, activation: str, init: str) -> None:
    """Raise ValueError for settings `SparseMLP` cannot be built with."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    if not 0 <= depth <= MAX_DEPTH:
        raise ValueError(
            f"depth (number of hidden layers) must be 0 (logistic regression) to {MAX_DEPTH}, got {depth}"
        )
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")


class SparseMLP(nn.Module):
    """Multi-layer perceptron over weighted bags of feature ids; logistic regression with
    depth 0.

    `EmbeddingBag(mode="sum") -> act -> [Linear -> act] * (depth - 1) -> Linear`, or for
    depth 0 the `EmbeddingBag` straight to the logits. A sum-mode `EmbeddingBag` with
    `per_sample_weights` *is* the first `Linear` layer applied to the sparse weighted count
    vector, without ever materializing that vector. Character n-gram features have a table
    of their own: one `EmbeddingBag` sums each word's n-grams into the word's vector
    (`embed_words`), a second sums each doc's word vectors into the doc's part of the first
    layer. At inference the word vectors can come from `word_vectors`, which keeps them from
    batch to batch.
    """

    def __init__(
        self,
        n_features: int,
        n_logits: int,
        *,
        hidden_width: int,
        depth: int,
        activation: str,
        dropout: float = 0.0,
        n_char_features: int = 0,
        init: str = "default",
    ) -> None:
        super().__init__()
        check_mlp_settings(depth=depth, activation=activation, init=init)
        self.n_features = n_features
        self.n_char_features = n_char_features
        self.n_logits = n_logits
        self.hidden_width = hidden_width
        self.depth = depth
        first_width = hidden_width if depth else n_logits
        self.embed = nn.EmbeddingBag(n_features, first_width, mode="sum")
        self.char_embed = nn.EmbeddingBag(n_char_features, first_width, mode="sum") if n_char_features else None
        self.embed_bias = nn.Parameter(torch.zeros(first_width))
        self.hidden = nn.ModuleList(nn.Linear(hidden_width, hidden_width) for _ in range(depth - 1))
        self.activation = nn.ReLU() if activation == "relu" else nn.Tanh()
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(hidden_width, n_logits) if depth else None
        # Inference only, never saved: the word vectors computed so far.
        self.word_vectors = WordVectorCache()
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
                nn.init.normal_(table.weight, std=table.embedding_dim**-0.5)

    def config(self) -> Dict[str, Any]:
        """The constructor arguments, written next to the weights (init is spent by then)."""
        return {
            "n_features": self.n_features,
            "n_logits": self.n_logits,
            "hidden_width": self.hidden_width,
            "depth": self.depth,
            "activation": "relu" if isinstance(self.activation, nn.ReLU) else "tanh",
            "dropout": self.dropout.p,
            "n_char_features": self.n_char_features,
        }

    def embed_words(self, word_ids: torch.Tensor, word_offsets: torch.Tensor, word_weights: torch.Tensor) -> torch.Tensor:
        """Each word's character n-gram vector, from its bag of n-gram ids (int64), where each
        word's ids start (int64) and their weights (float): (n_words, first layer width)."""
        if self.char_embed is None:
            raise ValueError("This model reads no character n-grams.")
        return self.char_embed(word_ids, word_offsets, per_sample_weights=word_weights)

    def forward(
        self,
        ids: torch.Tensor,
        offsets: torch.Tensor,
        weights: torch.Tensor,
        token_words: Optional[torch.Tensor] = None,
        token_offsets: Optional[torch.Tensor] = None,
        token_weights: Optional[torch.Tensor] = None,
        word_ids: Optional[torch.Tensor] = None,
        word_offsets: Optional[torch.Tensor] = None,
        word_weights: Optional[torch.Tensor] = None,
        word_vectors: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Logits of shape (n_docs, n_logits).

        ids, offsets, weights: each doc's bag of feature ids (int64, int64, float).
        token_words, token_offsets, token_weights: with character n-grams, each doc's bag of
            words (positions among the batch's words).
        word_ids, word_offsets, word_weights: the batch's words' bags of character n-gram ids,
            for `embed_words`;
        word_vectors: or their vectors, computed beforehand.
        """
        hidden = self.embed(ids, offsets, per_sample_weights=weights) + self.embed_bias
        if self.char_embed is not None:
            if token_words is None or token_offsets is None:
                raise ValueError("This model reads character n-grams: the features need their words' bags.")
            if len(token_words):
                if word_vectors is None:
                    word_vectors = self.embed_words(word_ids, word_offsets, word_weights)  # type: ignore[arg-type]
                hidden = hidden + nn.functional.embedding_bag(
                    token_words, word_vectors, token_offsets, mode="sum", per_sample_weights=token_weights
                )
        if self.output is None:
            return hidden
        hidden = self.dropout(self.activation(hidden))
        for layer in self.hidden:
            hidden = self.dropout(self.activation(self._linear(layer, hidden)))
        return self._linear(self.output, hidden)

    def _linear(self, layer: nn.Linear, x: torch.Tensor) -> torch.Tensor:
        """`layer(x)`, computed at inference so that a row's result does not depend on the
        other rows: BLAS picks kernels and blocking by matrix shape, so a matmul rounds a
        doc's logits differently in batches of 1, 7 or 1000 docs. A product and a sum per
        row rounds the same way in any batch. Training keeps the fast matmul."""
        if self.training:
            return layer(x)
        return (x.unsqueeze(1) * layer.weight).sum(-1) + layer.bias

    def grow_logits(self, n_logits: int) -> None:
        """Grow the output to n_logits, keeping the trained logits (see `grown`): the `output`
        Linear, or without hidden layers the bag tables and their bias, one column per logit."""
        if self.output is not None:
            self.output = grown_linear(self.output, n_logits)
        else:
            for table in (self.embed, self.char_embed):
                if table is not None:
                    table.weight = nn.Parameter(grown(table.weight, n_logits, axis=1))
                    table.embedding_dim = n_logits
            self.embed_bias = nn.Parameter(grown(self.embed_bias, n_logits, axis=0))
        self.n_logits = n_logits


class WordVectorCache:
    """The character n-gram vector of each word read at inference, kept from batch to batch so
    that a word's n-grams are summed once, not in every batch it occurs in.

    Words are rows of the featurizer's table of words (`source`, which it replaces when it
    starts over). The vectors are valid while the n-gram table's weights are unchanged: a
    training step (which accumulates, then zeroes, their gradient), loading weights or
    `use_params` (which write into them), a resize (which replaces them) or a move to another
    device changes their version, identity or device, and the cache starts over.
    """

    def __init__(self) -> None:
        self._clear(None)

    def _clear(self, key: Optional[Tuple[Any, ...]]) -> None:
        self.key = key
        self.vectors: Optional[torch.Tensor] = None
        self.known: Optional[torch.Tensor] = None

    def lookup(
        self,
        table: nn.EmbeddingBag,
        source: object,
        rows: torch.Tensor,
        n_rows: int,
        compute: Callable[[torch.Tensor], torch.Tensor],
    ) -> torch.Tensor:
        """The vectors of the words at `rows` (int64, each below `n_rows`), computing those
        not kept yet with `compute(positions)` (positions in `rows`) under `torch.no_grad()`."""
        weight = table.weight
        grad_version = None if weight.grad is None else tensor_version(weight.grad)
        key = (source, weight, tensor_version(weight), grad_version, weight.device)
        if self.key is None or self.key[0] is not source or self.key[1] is not weight or self.key[2:] != key[2:]:
            self._clear(key)
        if self.vectors is None or self.known is None or len(self.known) < n_rows:
            capacity = max(n_rows, 2 * (0 if self.known is None else len(self.known)), 64)
            vectors = weight.new_zeros((capacity, weight.shape[1]))
            known = torch.zeros(capacity, dtype=torch.bool, device=weight.device)
            if self.vectors is not None and self.known is not None:
                vectors[: len(self.vectors)] = self.vectors
                known[: len(self.known)] = self.known
            self.vectors, self.known = vectors, known
        known = self.known[rows]
        if not bool(known.all()):
            missing = torch.nonzero(~known).squeeze(1)
            with torch.no_grad():
                self.vectors[rows[missing]] = compute(missing)
            self.known[rows[missing]] = True
        return self.vectors[rows]


def grown(weight: torch.Tensor, n_logits: int, axis: int) -> torch.Tensor:
    """`weight` with its logits' axis grown to n_logits, the trained entries kept and the new
    ones zero. Two labels share one logit under a sigmoid (p = sigmoid(z) for the second);
    a softmax over [0, z] gives the same odds, so a single logit becomes the second of the
    new ones."""
    shape = list(weight.shape)
    n_old, shape[axis] = shape[axis], n_logits
    if n_logits < n_old:
        raise ValueError(f"Cannot shrink the output from {n_old} to {n_logits} logits")
    larger = weight.detach().new_zeros(shape)
    first = 1 if n_old == 1 else 0
    larger.narrow(axis, first, n_old).copy_(weight.detach())
    return larger


def grown_linear(layer: nn.Linear, n_logits: int) -> nn.Linear:
    """A copy of the output layer with n_logits outputs (see `grown`)."""
    larger = nn.Linear(layer.in_features, n_logits).to(layer.weight.device)
    with torch.no_grad():
        larger.weight.copy_(grown(layer.weight, n_logits, axis=0))
        larger.bias.copy_(grown(layer.bias, n_logits, axis=0))
    return larger


__all__ = ["SparseMLP", "WordVectorCache", "check_mlp_settings", "grown", "grown_linear"]
