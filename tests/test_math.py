"""Tests that pin the math: the CRF's gradient, the gradient thinc receives from the NER's loss,
padding that never reaches a pooled vector, and serializing a component before training."""
import numpy
import pytest
import spacy
import torch
from thinc.api import fix_random_seed

from thinc.types import Ragged

from conftest import RU_SENTENCES, TINY_NER_MODEL, make_ner_examples
from spacy_ru_nn.ner.crf import NEG, allowed_transitions, crf_nll
from spacy_ru_nn.ner.tagger import output_module
from spacy_ru_nn.tag_schemes import tag_names
from spacy_ru_nn.textcat.bilstm import POOLINGS, BiLSTMClassifier

TAGS = tag_names(["LOC", "PER"], "BIO")  # O, B-LOC, I-LOC, B-PER, I-PER


def penalties(tags, dtype=torch.float64):
    allowed, allowed_start = allowed_transitions(tags)
    return (
        torch.tensor(numpy.where(allowed, 0.0, NEG), dtype=dtype),
        torch.tensor(numpy.where(allowed_start, 0.0, NEG), dtype=dtype),
    )


def test_crf_nll_gradcheck_float64():
    """Forward-backward gives the exact gradient of the NLL for emissions and every CRF
    parameter, over a flat batch with unknown gold tags (-1) and forbidden BIO transitions."""
    gen = torch.Generator().manual_seed(0)
    n = len(TAGS)
    transition_penalty, start_penalty = penalties(TAGS)
    lengths = torch.tensor([4, 1, 3])
    gold = torch.tensor([0, 3, 4, 0, 1, 0, -1, 1])
    emissions = torch.randn(8, n, dtype=torch.float64, generator=gen, requires_grad=True)
    transitions = torch.randn(n, n, dtype=torch.float64, generator=gen, requires_grad=True)
    start = torch.randn(n, dtype=torch.float64, generator=gen, requires_grad=True)
    end = torch.randn(n, dtype=torch.float64, generator=gen, requires_grad=True)

    def nll(emissions, transitions, start, end):
        return crf_nll(emissions, lengths, gold, transitions + transition_penalty, start + start_penalty, end)

    assert torch.autograd.gradcheck(nll, (emissions, transitions, start, end))
    nll(emissions, transitions, start, end).backward()
    assert emissions.grad.abs().sum(dim=1).min() > 0  # every token, none padding


def reference_crf_gradients(ner, examples, scores, crf):
    """The loss and its gradients computed apart from the component: one float64 CRF per doc
    (no sentence boundaries and shorter than the window, so each doc is one sequence), gold
    tags read from the entity spans."""
    params = {
        name: getattr(crf, name).detach().double().requires_grad_()
        for name in ("transitions", "start", "end")
    }
    transition_penalty, start_penalty = penalties(ner.tags)
    total = 0.0
    d_scores = []
    for eg, doc_scores in zip(examples, scores):
        tags = ["O"] * len(eg.reference)
        for ent in eg.reference.ents:
            tags[ent.start] = f"B-{ent.label_}"
            for i in range(ent.start + 1, ent.end):
                tags[i] = f"I-{ent.label_}"
        gold = torch.tensor([ner.tags.index(tag) for tag in tags])
        emissions = torch.tensor(doc_scores, dtype=torch.float64, requires_grad=True)
        loss = crf_nll(
            emissions, torch.tensor([len(tags)]), gold,
            params["transitions"] + transition_penalty, params["start"] + start_penalty, params["end"],
        )  # fmt: skip
        loss.backward()
        total += float(loss.detach())
        d_scores.append(emissions.grad.numpy())
    return total, d_scores, {name: p.grad.numpy() for name, p in params.items()}


def test_ner_crf_loss_gives_the_exact_gradients():
    """The component's loss, its gradient for the scores, and the gradients the CRF's own
    parameters hold afterwards (for the shim's finish_update) are the reference's."""
    fix_random_seed(0)
    nlp = spacy.blank("ru")
    ner = nlp.add_pipe("bilstm_ner", config={"model": TINY_NER_MODEL})
    examples = make_ner_examples(nlp)
    nlp.initialize(lambda: examples)
    crf = output_module(ner.model).crf
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for param in (crf.transitions, crf.start, crf.end):
            param.copy_(torch.randn(param.shape, generator=gen))
    rng = numpy.random.default_rng(0)
    scores = [rng.normal(size=(len(eg.predicted), len(ner.tags))).astype("float32") for eg in examples]
    ragged = Ragged(numpy.concatenate(scores), numpy.asarray([len(s) for s in scores], dtype="int32"))
    loss, d_scores = ner.get_loss(examples, ragged)
    expected_loss, expected_d_scores, expected_param_grads = reference_crf_gradients(ner, examples, scores, crf)
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    numpy.testing.assert_allclose(d_scores.dataXd, numpy.concatenate(expected_d_scores), rtol=1e-4, atol=1e-5)
    for name, expected in expected_param_grads.items():
        numpy.testing.assert_allclose(getattr(crf, name).grad.numpy(), expected, rtol=1e-4, atol=1e-5)


def test_crf_parameters_learn_through_the_shim():
    """An update leaves the CRF's gradients on its torch parameters; the optimizer step (the
    shim's finish_update) changes the parameters and clears the gradients."""
    fix_random_seed(0)
    nlp = spacy.blank("ru")
    ner = nlp.add_pipe("bilstm_ner", config={"model": TINY_NER_MODEL})
    examples = make_ner_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    crf = output_module(ner.model).crf
    before = {name: p.detach().clone() for name, p in crf.named_parameters()}
    ner.update(examples, drop=0.0)
    for name, param in crf.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    ner.finish_update(optimizer)
    for name, param in crf.named_parameters():
        assert not torch.equal(param.detach(), before[name]), name
        assert not param.grad.any(), name


@pytest.mark.parametrize("pooling", POOLINGS)
def test_garbage_in_the_padding_changes_no_pooled_vector(pooling):
    """Fill every padded position with garbage on the way into the BiLSTM (a forward
    pre-hook) and on the way out (a forward hook): no pooled vector may change."""
    fix_random_seed(0)
    module = BiLSTMClassifier(8, 16, 1, pooling, n_logits=1).eval()
    lengths = torch.tensor([3, 1, 0, 5])
    ids = torch.randn(int(lengths.sum()), 8)
    padding = torch.arange(5).unsqueeze(1) >= lengths.unsqueeze(0)
    gen = torch.Generator().manual_seed(1)

    def garbage_in(mod, args):
        padded, seq_lengths = args
        noise = 1e3 * torch.randn(padded.shape, generator=gen)
        return torch.where(padding.unsqueeze(2), noise, padded), seq_lengths

    def garbage_out(mod, args, hidden):
        noise = 1e3 * torch.randn(hidden.shape, generator=gen)
        return torch.where(padding.unsqueeze(2), noise, hidden)

    with torch.no_grad():
        clean, clean_weights = module.encode(ids, lengths)
        handles = [
            module.lstm.register_forward_pre_hook(garbage_in),
            module.lstm.register_forward_hook(garbage_out),
        ]
        seen = []
        handles.append(module.lstm.register_forward_hook(lambda mod, args, out: seen.append(out)))
        dirty, dirty_weights = module.encode(ids, lengths)
        for handle in handles:
            handle.remove()
    # The hooks did put garbage where the pooling could have read it.
    assert seen[0][padding].abs().max() > 100
    torch.testing.assert_close(dirty, clean, rtol=0, atol=0)
    if pooling == "attention":
        torch.testing.assert_close(dirty_weights, clean_weights, rtol=0, atol=0)


def test_uninitialized_ner_to_bytes_from_bytes():
    """A component saved before training loads back untrained, with its labels, and can then
    be initialized and trained as if new."""
    nlp = spacy.blank("ru")
    ner = nlp.add_pipe("bilstm_ner", config={"model": TINY_NER_MODEL})
    ner.add_label("PER")
    data = ner.to_bytes()
    nlp2 = spacy.blank("ru")
    ner2 = nlp2.add_pipe("bilstm_ner", config={"model": TINY_NER_MODEL})
    ner2.from_bytes(data)
    assert ner2.labels == ("PER",)
    with pytest.raises(ValueError, match="E109"):
        ner2.predict([nlp2.make_doc("Александр Пушкин")])
    examples = make_ner_examples(nlp2, RU_SENTENCES)
    optimizer = nlp2.initialize(lambda: examples)
    assert ner2.labels == ("LOC", "ORG", "PER")
    optimizer.learn_rate = 0.01
    for _ in range(40):
        nlp2.update(examples, sgd=optimizer, drop=0.0)
    assert [(e.text, e.label_) for e in nlp2("Александр Пушкин родился в Москве.").ents] == [
        ("Александр Пушкин", "PER"),
        ("Москве", "LOC"),
    ]
    # And the whole untrained pipeline round-trips too.
    blank = spacy.blank("ru")
    blank.add_pipe("bilstm_ner", config={"model": TINY_NER_MODEL})
    restored = spacy.blank("ru")
    restored.add_pipe("bilstm_ner", config={"model": TINY_NER_MODEL})
    restored.from_bytes(blank.to_bytes())
    assert restored.get_pipe("bilstm_ner").labels == ()
