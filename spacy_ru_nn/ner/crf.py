"""Linear-chain CRF over per-token tag scores, in PyTorch: loss, Viterbi decoding and BIO constraints.

Loops run over time steps only; every step is one tensor operation over all sequences and
tags. Disallowed transitions (I-PER after O in BIO) get a large negative score, so decoding
can only produce valid tag sequences. No spaCy or thinc imports here.
"""
from typing import Optional, Sequence, Tuple

import numpy
import torch
from torch import nn

NEG = -1e4  # not -inf: keeps logsumexp and its gradient finite when a row is all forbidden


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


def log_partition(
    emissions: torch.Tensor,
    lengths: torch.Tensor,
    transitions: torch.Tensor,
    start: torch.Tensor,
    end: torch.Tensor,
    gold: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """log Z per sequence of time-major (max_len, n_seqs, n_tags) emissions; with `gold` (tag
    ids, -1 = unknown) only paths through the gold tags count, which gives the gold path score
    and lets unknown tokens stay unknown."""
    max_len = emissions.shape[0]
    steps = torch.arange(max_len, device=emissions.device).unsqueeze(1)
    mask = steps < lengths.unsqueeze(0)  # (max_len, n_seqs)
    if gold is not None:
        n_tags = emissions.shape[2]
        fits = (gold.unsqueeze(2) == torch.arange(n_tags, device=gold.device)) | (gold.unsqueeze(2) < 0)
        emissions = emissions.masked_fill(~fits, NEG)
    alpha = start + emissions[0]
    for t in range(1, max_len):
        step = torch.logsumexp(alpha.unsqueeze(2) + transitions, dim=1) + emissions[t]
        alpha = torch.where(mask[t].unsqueeze(1), step, alpha)
    return torch.logsumexp(alpha + end, dim=1)


def viterbi(
    emissions: torch.Tensor, lengths: torch.Tensor, transitions: torch.Tensor, start: torch.Tensor, end: torch.Tensor
) -> torch.Tensor:
    """Best tag ids of time-major emissions, (max_len, n_seqs); positions past a sequence's
    end are 0."""
    max_len, n_seqs, _ = emissions.shape
    steps = torch.arange(max_len, device=emissions.device).unsqueeze(1)
    mask = steps < lengths.unsqueeze(0)
    score = start + emissions[0]
    backpointers = []
    for t in range(1, max_len):
        best, prev = (score.unsqueeze(2) + transitions).max(dim=1)
        backpointers.append(prev)
        score = torch.where(mask[t].unsqueeze(1), best + emissions[t], score)
    last = (score + end).argmax(dim=1)
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


def time_major_positions(lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """For sequences stored one after the other in a flat batch: (max_len, n_seqs) indices into
    it, and which of them are tokens (padding points at row 0)."""
    starts = torch.cumsum(lengths, 0) - lengths
    steps = torch.arange(int(lengths.max()), device=lengths.device).unsqueeze(1)
    real = steps < lengths.unsqueeze(0)
    return torch.where(real, starts.unsqueeze(0) + steps, torch.zeros_like(steps)), real


def crf_nll(
    emissions: torch.Tensor,
    lengths: torch.Tensor,
    gold: torch.Tensor,
    transitions: torch.Tensor,
    start: torch.Tensor,
    end: torch.Tensor,
) -> torch.Tensor:
    """Negative log-likelihood of the gold paths, summed over sequences, for flat emissions
    (n_tokens, n_tags) of `lengths` sequences one after the other; gold tag ids are flat like
    them, -1 where unknown (those tokens are marginalised)."""
    if not len(lengths):
        return emissions.sum() * 0.0
    positions, real = time_major_positions(lengths)
    padded = emissions[positions].masked_fill(~real.unsqueeze(2), 0.0)
    padded_gold = gold[positions].masked_fill(~real, -1)
    full = log_partition(padded, lengths, transitions, start, end)
    gold_paths = log_partition(padded, lengths, transitions, start, end, padded_gold)
    return (full - gold_paths).sum()


def crf_decode(
    emissions: torch.Tensor, lengths: torch.Tensor, transitions: torch.Tensor, start: torch.Tensor, end: torch.Tensor
) -> torch.Tensor:
    """Viterbi's best tag id of every token, flat like the emissions."""
    if not len(lengths):
        return torch.zeros(0, dtype=torch.int64, device=emissions.device)
    positions, real = time_major_positions(lengths)
    padded = emissions[positions].masked_fill(~real.unsqueeze(2), 0.0)
    best = viterbi(padded, lengths, transitions, start, end)
    flat = torch.empty(emissions.shape[0], dtype=torch.int64, device=emissions.device)
    return flat.index_copy_(0, positions[real], best[real])


class LinearChainCRF(nn.Module):
    """Learned transition, start and end scores over `n_tags` tags, and the scheme's
    constraints as buffers (zero where allowed, NEG where forbidden), set from the tag names.

    The methods read flat emissions (n_tokens, n_tags), sequences one after the other.
    """

    def __init__(self, n_tags: int) -> None:
        super().__init__()
        self.transitions = nn.Parameter(torch.zeros(n_tags, n_tags))
        self.start = nn.Parameter(torch.zeros(n_tags))
        self.end = nn.Parameter(torch.zeros(n_tags))
        self.register_buffer("transition_penalty", torch.zeros(n_tags, n_tags))
        self.register_buffer("start_penalty", torch.zeros(n_tags))

    @property
    def n_tags(self) -> int:
        return int(self.start.shape[0])

    def set_tags(self, tags: Sequence[str]) -> None:
        """Forbid the transitions the tag scheme does not allow (I-X after O in BIO)."""
        if len(tags) != self.n_tags:
            raise ValueError(f"The CRF scores {self.n_tags} tags, got {len(tags)} tag names")
        allowed, allowed_start = allowed_transitions(tags)
        with torch.no_grad():
            self.transition_penalty.copy_(torch.from_numpy(numpy.where(allowed, 0.0, NEG).astype("float32")))
            self.start_penalty.copy_(torch.from_numpy(numpy.where(allowed_start, 0.0, NEG).astype("float32")))

    def constrained(self) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Transition, start and end scores with the constraints folded in."""
        return self.transitions + self.transition_penalty, self.start + self.start_penalty, self.end

    def nll(self, emissions: torch.Tensor, lengths: torch.Tensor, gold: torch.Tensor) -> torch.Tensor:
        """`crf_nll` under this CRF's scores and constraints."""
        return crf_nll(emissions, lengths, gold, *self.constrained())

    def decode(self, emissions: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """`crf_decode` under this CRF's scores and constraints."""
        return crf_decode(emissions, lengths, *self.constrained())


__all__ = [
    "LinearChainCRF",
    "NEG",
    "allowed_transitions",
    "crf_decode",
    "crf_nll",
    "log_partition",
    "time_major_positions",
    "viterbi",
]
