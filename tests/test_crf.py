import itertools

import numpy
import torch

from spacy_ru_nn.layers.crf import CRF, allowed_transitions, pad_sequences
from spacy_ru_nn.tag_schemes import tag_names


def brute_force(crf, emissions, n):
    """Every path of a length-n sequence: log Z and the best path, by enumeration."""
    n_tags = emissions.shape[1]
    scores = {}
    for path in itertools.product(range(n_tags), repeat=n):
        s = crf.start[path[0]] + emissions[0, path[0]] + crf.end[path[-1]]
        for t in range(1, n):
            s = s + crf.transitions[path[t - 1], path[t]] + emissions[t, path[t]]
        scores[path] = float(s)
    values = torch.tensor(list(scores.values()))
    return float(torch.logsumexp(values, 0)), max(scores, key=scores.get)


def random_crf(tags, seed=0):
    gen = torch.Generator().manual_seed(seed)
    n = len(tags)
    allowed, start = allowed_transitions(tags)
    return CRF(torch.randn(n, n, generator=gen), torch.randn(n, generator=gen), torch.randn(n, generator=gen), allowed, start)


def test_partition_and_viterbi_match_enumeration_on_a_padded_batch():
    tags = tag_names(["PER"], "BIO")
    crf = random_crf(tags)
    rng = numpy.random.default_rng(0)
    pieces = [rng.normal(size=(n, len(tags))).astype("float32") for n in (4, 1, 3)]
    emissions, lengths = pad_sequences(pieces, 0.0)
    em, ln = torch.from_numpy(emissions), torch.from_numpy(lengths)
    log_z = crf.log_partition(em, ln)
    best = crf.viterbi(em, ln)
    for i, piece in enumerate(pieces):
        expected_z, expected_path = brute_force(crf, torch.from_numpy(piece), len(piece))
        assert abs(float(log_z[i]) - expected_z) < 1e-3
        assert tuple(best[: len(piece), i].tolist()) == expected_path
        assert best[len(piece):, i].tolist() == [0] * (len(best) - len(piece))


def test_gold_path_score_and_unknown_tags():
    tags = tag_names(["PER"], "IO")
    crf = random_crf(tags, seed=1)
    em = torch.randn(3, 1, len(tags))
    lengths = torch.tensor([3])
    gold = torch.tensor([[1], [1], [0]])
    path_score = crf.start[1] + em[0, 0, 1] + crf.transitions[1, 1] + em[1, 0, 1] + crf.transitions[1, 0] + em[2, 0, 0] + crf.end[0]
    assert abs(float(crf.log_partition(em, lengths, gold)[0]) - float(path_score)) < 1e-4
    # All tags unknown: the constrained sum is the full partition, the loss is zero.
    unknown = torch.full((3, 1), -1)
    assert abs(float(crf.nll(em, lengths, unknown))) < 1e-4
    assert float(crf.nll(em, lengths, gold)) > 0


def test_bio_constraints_make_decoding_valid():
    tags = tag_names(["LOC", "PER"], "BIO")
    crf = random_crf(tags, seed=2)
    # Emissions that shout "I-PER" everywhere, which is invalid after O or at the start.
    em = torch.full((5, 1, len(tags)), -5.0)
    em[:, 0, tags.index("I-PER")] = 5.0
    best = [tags[i] for i in crf.viterbi(em, torch.tensor([5]))[:, 0].tolist()]
    assert best[0] != "I-PER"
    for prev, cur in zip(best, best[1:]):
        if cur.startswith("I-"):
            assert prev in ("B-" + cur[2:], cur)
