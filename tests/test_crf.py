"""The CRF of the NER's output module against brute-force enumeration of every tag path."""
import itertools

import torch

from spacy_ru_nn.ner.crf import LinearChainCRF
from spacy_ru_nn.tag_schemes import tag_names


def random_crf(tags, seed=0):
    gen = torch.Generator().manual_seed(seed)
    crf = LinearChainCRF(len(tags))
    with torch.no_grad():
        for param in (crf.transitions, crf.start, crf.end):
            param.copy_(torch.randn(param.shape, generator=gen))
    crf.set_tags(tags)
    return crf


def path_scores(crf, emissions):
    """The score of every tag path of one sequence, constraints included."""
    transitions, start, end = crf.constrained()
    n, n_tags = emissions.shape
    scores = {}
    for path in itertools.product(range(n_tags), repeat=n):
        s = start[path[0]] + emissions[0, path[0]] + end[path[-1]]
        for t in range(1, n):
            s = s + transitions[path[t - 1], path[t]] + emissions[t, path[t]]
        scores[path] = s
    return scores


def brute_force(crf, emissions, gold):
    """-log p(gold paths) and the best path of one sequence, by enumeration; gold -1 is unknown."""
    with torch.no_grad():
        scores = path_scores(crf, emissions)
    fits = [path for path in scores if all(g < 0 or g == p for g, p in zip(gold, path))]
    log_z = torch.logsumexp(torch.stack(list(scores.values())), 0)
    log_gold = torch.logsumexp(torch.stack([scores[path] for path in fits]), 0)
    return float(log_z - log_gold), max(scores, key=lambda path: float(scores[path]))


def test_loss_and_viterbi_equal_enumeration_on_a_flat_batch():
    tags = tag_names(["PER"], "BIO")  # O, B-PER, I-PER
    crf = random_crf(tags)
    gen = torch.Generator().manual_seed(1)
    lengths = torch.tensor([4, 1, 3])
    emissions = torch.randn(int(lengths.sum()), len(tags), generator=gen)
    # Known tags, an unknown one (-1), and a sequence with no known tag at all.
    gold = torch.tensor([0, 1, -1, 0, 1, -1, -1, -1])
    expected_loss = 0.0
    expected_best = []
    for start, n in zip([0, 4, 5], lengths.tolist()):
        loss, best = brute_force(crf, emissions[start : start + n], gold[start : start + n].tolist())
        expected_loss += loss
        expected_best.extend(best)
    assert abs(crf.nll(emissions, lengths, gold).item() - expected_loss) < 1e-4
    assert crf.decode(emissions, lengths).tolist() == expected_best


def test_unknown_gold_costs_nothing_and_known_gold_costs():
    tags = tag_names(["PER"], "IO")
    crf = random_crf(tags, seed=1)
    emissions = torch.randn(3, len(tags))
    lengths = torch.tensor([3])
    assert abs(crf.nll(emissions, lengths, torch.full((3,), -1)).item()) < 1e-4
    assert crf.nll(emissions, lengths, torch.tensor([1, 1, 0])).item() > 0


def test_bio_constraints_make_decoding_valid():
    tags = tag_names(["LOC", "PER"], "BIO")
    crf = random_crf(tags, seed=2)
    # Emissions that shout "I-PER" everywhere, which is invalid after O or at the start.
    emissions = torch.full((5, len(tags)), -5.0)
    emissions[:, tags.index("I-PER")] = 5.0
    best = [tags[i] for i in crf.decode(emissions, torch.tensor([5])).tolist()]
    assert best[0] != "I-PER"
    for prev, cur in zip(best, best[1:]):
        if cur.startswith("I-"):
            assert prev in ("B-" + cur[2:], cur)


def test_constraints_are_buffers_and_the_scores_parameters():
    crf = random_crf(tag_names(["PER"], "BIO"))
    assert {name for name, _ in crf.named_parameters()} == {"transitions", "start", "end"}
    assert {name for name, _ in crf.named_buffers()} == {"transition_penalty", "start_penalty"}
    # I-PER may not follow O nor start a sequence.
    assert crf.transition_penalty[0, 2] < 0 and crf.start_penalty[2] < 0 and crf.transition_penalty[1, 2] == 0
