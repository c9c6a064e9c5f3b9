"""The BiLSTM classifier's torch modules: the token embedding and the classifier.

`TokenEmbedding`: hashed token attributes -> one vector per token; `BiLSTMClassifier`: token
vectors -> BiLSTM -> pooling -> logits. Pure torch.
"""
from typing import Any, Dict, Optional, Sequence, Tuple, cast

import torch
from torch import nn

from ..bilstm import BiLSTM
from .mlp import grown_linear

POOLINGS = ("last", "mean", "max", "attention")


def check_embedding_settings(*, rows: Sequence[int], attr_width: int, width: int) -> None:
    """Raise ValueError for sizes `TokenEmbedding` cannot be built with."""
    if not rows or any(n < 1 for n in rows):
        raise ValueError(f"rows needs one positive bucket count per attribute, got {list(rows)}")
    if attr_width < 1 or width < 1:
        raise ValueError(f"attr_width and width must be positive, got {attr_width}, {width}")


def check_classifier_settings(*, width: int, depth: int, pooling: str) -> None:
    """Raise ValueError for sizes or a pooling `BiLSTMClassifier` cannot be built with."""
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    if depth < 1:
        raise ValueError(f"depth must be positive, got {depth}")
    if width < 2 or width % 2:
        raise ValueError(f"width must be even (two LSTM directions), got {width}")


class TokenEmbedding(nn.Module):
    """Hashed token attributes, and optionally static vectors, -> one vector per token: a
    table per attribute, concatenated and projected to `width` through a ReLU."""

    def __init__(
        self, rows: Sequence[int], attr_width: int, width: int, dropout: float = 0.0, vectors_width: int = 0
    ) -> None:
        super().__init__()
        check_embedding_settings(rows=rows, attr_width=attr_width, width=width)
        self.rows = list(rows)
        self.embeds = nn.ModuleList(nn.Embedding(n, attr_width) for n in self.rows)
        # Static vectors are data of the pipeline's vocab; only their projection is learned.
        self.vectors_width = vectors_width
        self.vectors_project = nn.Linear(vectors_width, attr_width) if vectors_width else None
        n_parts = len(self.rows) + (1 if vectors_width else 0)
        self.project = nn.Linear(attr_width * n_parts, width)
        self.dropout = nn.Dropout(dropout)

    def forward(self, ids: torch.Tensor, vectors: Optional[torch.Tensor] = None) -> torch.Tensor:
        """ids (torch.Tensor): int64 (n_tokens, n_attrs), each column below its table's rows.
        vectors (Optional[torch.Tensor]): float (n_tokens, vectors_width), required when the
            module was built with vectors_width > 0.
        RETURNS (torch.Tensor): (n_tokens, width).
        """
        parts = [embed(ids[:, i]) for i, embed in enumerate(self.embeds)]
        if self.vectors_project is not None:
            if vectors is None:
                raise ValueError("This token embedding was built with static vectors: pass them.")
            parts.append(self.vectors_project(vectors))
        return torch.relu(self.project(self.dropout(torch.cat(parts, dim=1))))

    def config(self) -> Dict[str, Any]:
        """The constructor arguments, written next to the weights."""
        return {
            "rows": self.rows,
            "attr_width": self.embeds[0].embedding_dim,
            "width": self.project.out_features,
            "dropout": self.dropout.p,
            "vectors_width": self.vectors_width,
        }


class BiLSTMClassifier(nn.Module):
    """Token vectors -> BiLSTM -> one pooling over each doc's tokens -> logits.

    Tokens arrive flat (doc after doc) with the docs' lengths; the module pads them itself.
    Token vectors of another width than the BiLSTM's are projected to it first. The poolings:

    - ``"last"``: the forward direction's state at the last token and the backward
      direction's state at the first (each direction's summary of the whole message);
    - ``"mean"`` / ``"max"``: mean or max over the tokens;
    - ``"attention"``: additive attention, ``a = softmax(v . tanh(W h_t))`` over the tokens,
      pooled ``sum_t a_t h_t``; `encode` returns the weights.

    Padding never reaches a pooled vector, so a doc scores the same alone or in any batch.
    An empty doc pools to zeros and scores as the learned output bias (the prior).
    """

    def __init__(
        self, n_inputs: int, width: int, depth: int, pooling: str, n_logits: int, dropout: float = 0.0
    ) -> None:
        super().__init__()
        check_classifier_settings(width=width, depth=depth, pooling=pooling)
        self.n_inputs = n_inputs
        self.pooling = pooling
        self.project = nn.Linear(n_inputs, width) if n_inputs != width else None
        self.lstm = BiLSTM(width, depth, dropout)
        self.dropout = nn.Dropout(dropout)
        if pooling == "attention":
            self.attention_hidden: Optional[nn.Linear] = nn.Linear(width, width)
            self.attention_score: Optional[nn.Linear] = nn.Linear(width, 1, bias=False)
        else:
            self.attention_hidden = self.attention_score = None
        self.output = nn.Linear(width, n_logits)

    def encode(self, tokens: torch.Tensor, lengths: torch.Tensor) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Pool each doc to one vector.

        tokens (torch.Tensor): float (n_tokens, n_inputs), doc after doc.
        lengths (torch.Tensor): int64 (n_docs,).
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
        device = tokens.device
        if self.project is not None:
            tokens = self.project(tokens)
        doc_index = torch.repeat_interleave(torch.arange(n_docs, device=device), lengths)
        starts = torch.cumsum(lengths, 0) - lengths
        positions = torch.arange(tokens.shape[0], device=device) - starts[doc_index]
        padded = tokens.new_zeros((max_len, n_docs, width))
        padded = padded.index_put((positions, doc_index), tokens)
        hidden = self.dropout(self.lstm(padded, lengths))
        mask = torch.arange(max_len, device=device).unsqueeze(1) < lengths.unsqueeze(0)
        has_tokens = (lengths > 0).unsqueeze(1)
        weights = None
        if self.pooling == "last":
            half = width // 2
            last = (lengths - 1).clamp(min=0)
            columns = torch.arange(n_docs, device=device)
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

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        pooled, _ = self.encode(tokens, lengths)
        return self.output(self.dropout(pooled))

    def grow_logits(self, n_logits: int) -> None:
        """Grow the output to n_logits, keeping the trained logits (see `mlp.grown`)."""
        self.output = grown_linear(self.output, n_logits)

    def config(self) -> Dict[str, Any]:
        """The constructor arguments, written next to the weights."""
        return {
            "n_inputs": self.n_inputs,
            "width": self.output.in_features,
            "depth": len(self.lstm.forward_layers),
            "pooling": self.pooling,
            "n_logits": self.output.out_features,
            "dropout": self.dropout.p,
        }


__all__ = ["BiLSTMClassifier", "POOLINGS", "TokenEmbedding", "check_classifier_settings", "check_embedding_settings"]
