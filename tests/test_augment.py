"""Mention replacement swaps gold entities for other mentions of the same label, nothing else."""
import random

import pytest
import spacy
from spacy.tokens import Span
from spacy.training import Example
from spacy.util import registry

from spacy_ru_nn.corpora.augment import create_mention_replacement_augmenter


def reference_doc(nlp, text, ents):
    doc = nlp.make_doc(text)
    doc.ents = [Span(doc, start, end, label) for start, end, label in ents]
    doc[0].is_sent_start = True
    for token in doc[1:]:
        token.is_sent_start = token.nbor(-1).text == "."
    return doc


@pytest.fixture
def nlp():
    return spacy.blank("ru")


@pytest.fixture
def pushkin(nlp):
    # [Александр Пушкин | PER] родился в [Москве | LOC]. Он любил [Михайловское | LOC].
    return reference_doc(
        nlp, "Александр Пушкин родился в Москве. Он любил Михайловское.", [(0, 2, "PER"), (4, 5, "LOC"), (8, 9, "LOC")]
    )


@pytest.fixture
def tolstoy(nlp):
    return reference_doc(nlp, "Лев Николаевич Толстой жил в Ясной Поляне.", [(0, 3, "PER"), (5, 7, "LOC")])


def augment(augmenter, nlp, doc):
    (example,) = augmenter(nlp, Example(nlp.make_doc(doc.text), doc))
    return example


def test_level_zero_passes_examples_through_without_drawing_random_numbers(nlp, pushkin):
    augmenter = create_mention_replacement_augmenter(0.0)
    example = Example(nlp.make_doc(pushkin.text), pushkin)
    state = random.getstate()
    assert list(augmenter(nlp, example)) == [example]
    assert random.getstate() == state


def test_level_one_replaces_every_entity_with_a_mention_of_its_label(nlp, pushkin, tolstoy):
    augmenter = create_mention_replacement_augmenter(1.0)
    augment(augmenter, nlp, tolstoy)  # fills the pool
    random.seed(0)
    replaced = augment(augmenter, nlp, pushkin).reference
    pool = {
        "PER": {"Александр Пушкин", "Лев Николаевич Толстой"},
        "LOC": {"Москве", "Михайловское", "Ясной Поляне"},
    }
    assert [e.label_ for e in replaced.ents] == ["PER", "LOC", "LOC"]
    assert all(e.text in pool[e.label_] for e in replaced.ents)
    # Everything outside the entities is the original text, sentence starts included.
    outside = [(t.text, t.whitespace_, t.is_sent_start) for t in replaced if not t.ent_type_]
    original = [(t.text, t.whitespace_, t.is_sent_start) for t in pushkin if not t.ent_type_]
    assert outside == original
    assert replaced[0].is_sent_start and [t.is_sent_start for t in replaced].count(True) == 2
    assert replaced.text.endswith(".")
    # The predicted side has the same tokens and no annotation to leak.
    example = augment(augmenter, nlp, pushkin)
    assert [t.text for t in example.predicted] == [t.text for t in example.reference]
    assert not example.predicted.ents


def test_replacement_over_many_draws_uses_other_mentions(nlp, pushkin, tolstoy):
    augmenter = create_mention_replacement_augmenter(1.0)
    augment(augmenter, nlp, tolstoy)
    random.seed(1)
    people = {augment(augmenter, nlp, pushkin).reference.ents[0].text for _ in range(20)}
    assert people == {"Александр Пушкин", "Лев Николаевич Толстой"}


def test_missing_annotation_stays_missing(nlp):
    doc = nlp.make_doc("Пушкин жил в Москве")
    doc.set_ents([Span(doc, 0, 1, "PER")], default="unmodified")
    augmenter = create_mention_replacement_augmenter(1.0)
    replaced = augment(augmenter, nlp, doc).reference
    assert [t.ent_iob_ for t in replaced] == ["B", "", "", ""]


@pytest.mark.parametrize("level", [-0.1, 1.5])
def test_level_out_of_range_is_a_clear_error(level):
    with pytest.raises(ValueError, match="between 0 and 1"):
        create_mention_replacement_augmenter(level)


def test_ner_config_has_the_augmenter_off():
    from pathlib import Path

    from spacy.util import load_config

    config = load_config(Path(__file__).parent.parent / "configs" / "ner.cfg")
    augmenter = config["corpora"]["train"]["augmenter"]
    assert augmenter == {"@augmenters": "spacy-ru-nn.mention_replacement.v1", "level": 0.0}
    assert registry.augmenters.get(augmenter["@augmenters"])
