"""The bag-of-words perceptron as a torch module: weighted bags of feature ids -> logits."""
from typing import Any, Dict, Optional

import torch
from torch import nn

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
    of their own: one `EmbeddingBag` sums each word's n-grams into the word's vector, a second
    sums each doc's word vectors into the doc's part of the first layer.
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

    def forward(
        self,
        ids: torch.Tensor,
        offsets: torch.Tensor,
        weights: torch.Tensor,
        word_ids: Optional[torch.Tensor] = None,
        word_offsets: Optional[torch.Tensor] = None,
        word_weights: Optional[torch.Tensor] = None,
        token_words: Optional[torch.Tensor] = None,
        token_offsets: Optional[torch.Tensor] = None,
        token_weights: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Logits of shape (n_docs, n_logits).

        ids, offsets, weights: each doc's bag of feature ids (int64, int64, float).
        word_ids, word_offsets, word_weights: with character n-grams, each word's bag of
            character n-gram ids.
        token_words, token_offsets, token_weights: with character n-grams, each doc's bag of
            words (rows of the words' bags).
        """
        hidden = self.embed(ids, offsets, per_sample_weights=weights) + self.embed_bias
        if self.char_embed is not None:
            if token_words is None or token_offsets is None:
                raise ValueError("This model reads character n-grams: the features need their words' bags.")
            if len(token_words):
                words = self.char_embed(word_ids, word_offsets, per_sample_weights=word_weights)
                hidden = hidden + nn.functional.embedding_bag(
                    token_words, words, token_offsets, mode="sum", per_sample_weights=token_weights
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


__all__ = ["SparseMLP", "check_mlp_settings", "grown", "grown_linear"]
