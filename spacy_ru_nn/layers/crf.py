"""Linear-chain CRF over per-token tag scores: loss and Viterbi decoding, batched in torch.

Loops run over time steps only; every step is one tensor operation over all sequences and
tags. Disallowed transitions (I-PER after O in BIO) get a large negative score, so decoding
can only produce valid tag sequences.
"""
from typing import Callable, List, Optional, Sequence, Tuple

import numpy
import torch
from thinc.api import Model
from thinc.types import Floats2d

NEG = -1e4  # not -inf: keeps logsumexp and its gradient finite when a row is all forbidden


def CRFTransitions() -> Model[Floats2d, Floats2d]:
    """Holds the learned transition, start and end scores; passes its input through."""
    return Model(
        "crf_transitions",
        _pass_through,
        init=_init_transitions,
        dims={"nO": None},
        params={"transitions": None, "start": None, "end": None},
    )


def _pass_through(model: Model, X: Floats2d, is_train: bool) -> Tuple[Floats2d, Callable]:
    return X, lambda dY: dY


def _init_transitions(model: Model, X=None, Y=None) -> None:
    n_tags = model.get_dim("nO")
    model.set_param("transitions", model.ops.alloc2f(n_tags, n_tags))
    model.set_param("start", model.ops.alloc1f(n_tags))
    model.set_param("end", model.ops.alloc1f(n_tags))


def allowed_transitions(tags: Sequence[str]) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """(from, to) and start masks: I-X may only follow B-X or I-X when the scheme has B- tags."""
    n = len(tags)
    allowed = numpy.ones((n, n), dtype=bool)
    start = numpy.ones(n, dtype=bool)
    if not any(tag.startswith("B-") for tag in tags):
        return allowed, start
    for j, tag in enumerate(tags):
        if tag.startswith("I-"):
            label = tag[2:]
            start[j] = False
            for i, prev in enumerate(tags):
                allowed[i, j] = prev in (f"B-{label}", f"I-{label}")
    return allowed, start


def pad_sequences(pieces: List[numpy.ndarray], fill: float) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """Stack variable-length arrays time-major: (max_len, n_seqs, ...) plus lengths."""
    lengths = numpy.array([len(p) for p in pieces], dtype=numpy.int64)
    shape = (int(lengths.max(initial=0)), len(pieces), *pieces[0].shape[1:])
    padded = numpy.full(shape, fill, dtype=pieces[0].dtype)
    for i, piece in enumerate(pieces):
        padded[: len(piece), i] = piece
    return padded, lengths


class CRF:
    """Scores with constraints folded in; built per batch from the layer's current params."""

    def __init__(
        self,
        transitions: torch.Tensor,
        start: torch.Tensor,
        end: torch.Tensor,
        allowed: numpy.ndarray,
        allowed_start: numpy.ndarray,
    ) -> None:
        penalty = torch.from_numpy(numpy.where(allowed, 0.0, NEG).astype("float32"))
        start_penalty = torch.from_numpy(numpy.where(allowed_start, 0.0, NEG).astype("float32"))
        self.transitions = transitions + penalty.to(transitions.device)
        self.start = start + start_penalty.to(start.device)
        self.end = end

    def log_partition(
        self, emissions: torch.Tensor, lengths: torch.Tensor, gold: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """log Z per sequence; with `gold` (tag ids, -1 = unknown) only paths through the gold
        tags count, which gives the gold path score and lets unknown tokens stay unknown."""
        max_len = emissions.shape[0]
        steps = torch.arange(max_len, device=emissions.device).unsqueeze(1)
        mask = steps < lengths.unsqueeze(0)  # (max_len, n_seqs)
        if gold is not None:
            n_tags = emissions.shape[2]
            fits = (gold.unsqueeze(2) == torch.arange(n_tags, device=gold.device)) | (gold.unsqueeze(2) < 0)
            emissions = emissions.masked_fill(~fits, NEG)
        alpha = self.start + emissions[0]
        for t in range(1, max_len):
            step = torch.logsumexp(alpha.unsqueeze(2) + self.transitions, dim=1) + emissions[t]
            alpha = torch.where(mask[t].unsqueeze(1), step, alpha)
        return torch.logsumexp(alpha + self.end, dim=1)

    def nll(self, emissions: torch.Tensor, lengths: torch.Tensor, gold: torch.Tensor) -> torch.Tensor:
        return (self.log_partition(emissions, lengths) - self.log_partition(emissions, lengths, gold)).sum()

    def viterbi(self, emissions: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Best tag ids, (max_len, n_seqs); positions past a sequence's end are 0."""
        max_len, n_seqs, _ = emissions.shape
        steps = torch.arange(max_len, device=emissions.device).unsqueeze(1)
        mask = steps < lengths.unsqueeze(0)
        score = self.start + emissions[0]
        backpointers = []
        for t in range(1, max_len):
            best, prev = (score.unsqueeze(2) + self.transitions).max(dim=1)
            backpointers.append(prev)
            score = torch.where(mask[t].unsqueeze(1), best + emissions[t], score)
        last = (score + self.end).argmax(dim=1)
        tags = torch.zeros((max_len, n_seqs), dtype=torch.int64, device=emissions.device)
        current = last
        for t in range(max_len - 1, -1, -1):
            active = t < lengths
            current = torch.where(t == lengths - 1, last, current)
            tags[t] = torch.where(active, current, torch.zeros_like(current))
            if t > 0:
                came_from = backpointers[t - 1].gather(1, current.unsqueeze(1)).squeeze(1)
                current = torch.where(active, came_from, current)
        return tags


def crf_from_layer(layer: Model, tags: Sequence[str], requires_grad: bool) -> Tuple[CRF, Callable]:
    """A CRF on the layer's params, and a function that sends their gradients back to thinc."""
    params = {
        name: torch.tensor(layer.ops.to_numpy(layer.get_param(name)), requires_grad=requires_grad)
        for name in ("transitions", "start", "end")
    }
    allowed, allowed_start = allowed_transitions(tags)
    crf = CRF(params["transitions"], params["start"], params["end"], allowed, allowed_start)

    def send_gradients() -> None:
        for name, tensor in params.items():
            if tensor.grad is not None:
                layer.inc_grad(name, layer.ops.asarray(tensor.grad.numpy()))

    return crf, send_gradients
