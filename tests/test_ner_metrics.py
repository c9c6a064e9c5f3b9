import json

import pytest
import spacy
from spacy.tokens import Doc, DocBin, Span
from spacy.training import Example
from typer.testing import CliRunner

from conftest import make_ner_examples
from spacy_ru_nn.cli import app
from spacy_ru_nn.ner_metrics import (
    boundary_summary, error_breakdown, error_table, error_examples, mention_key, token_io_prf, training_mentions,
)

WORDS = ["Александр", "Пушкин", "родился", "в", "Москве", "и", "жил", "в", "Санкт", "-", "Петербурге", "."]


@pytest.fixture(scope="module")
def nlp():
    return spacy.blank("ru")


def doc_with(nlp, ents):
    doc = Doc(nlp.vocab, words=WORDS)
    doc.ents = [Span(doc, start, end, label) for start, end, label in ents]
    return doc


def example(nlp, predicted, gold):
    return Example(doc_with(nlp, predicted), doc_with(nlp, gold))


GOLD = [(0, 2, "PER"), (4, 5, "LOC"), (8, 11, "LOC")]


def test_a_perfect_prediction_finds_every_entity(nlp):
    errors = error_breakdown([example(nlp, GOLD, GOLD)])
    assert errors["total"] == {
        "gold": 3, "found": 3, "wrong_type": 0, "wrong_boundary": 0, "missed": 0, "spurious": 0,
    }  # fmt: skip


def test_each_gold_entity_gets_one_outcome(nlp):
    # "Пушкин" alone (too short), "Москве" as ORG, "Санкт-Петербурге" missed, "жил" spurious.
    predicted = [(1, 2, "PER"), (4, 5, "ORG"), (6, 7, "PER")]
    errors = error_breakdown([example(nlp, predicted, GOLD)])
    assert errors["per_type"]["PER"] == {
        "gold": 1, "found": 0, "wrong_type": 0, "wrong_boundary": 1, "missed": 0, "spurious": 1,
    }  # fmt: skip
    assert errors["per_type"]["LOC"]["wrong_type"] == 1
    assert errors["per_type"]["LOC"]["missed"] == 1
    # A wrong type is not also spurious: the ORG prediction sits on a gold span.
    assert errors["total"]["spurious"] == 1 and "ORG" not in errors["per_type"]
    assert errors["wrong_boundary_predictions"] == {"longer": 0, "shorter": 1, "joins_several": 0, "crossing": 0}


def test_merged_neighbours_and_overlong_spans_are_told_apart(nlp):
    gold = [(0, 1, "PER"), (1, 2, "PER"), (4, 5, "LOC")]
    predicted = [(0, 2, "PER"), (3, 5, "LOC")]
    errors = error_breakdown([example(nlp, predicted, gold)])
    assert errors["wrong_boundary_predictions"] == {"longer": 1, "shorter": 0, "joins_several": 1, "crossing": 0}
    assert errors["total"]["wrong_boundary"] == 3
    assert "1 joining several" in boundary_summary(errors)


def test_recall_is_split_by_mentions_seen_in_training(nlp):
    train = [doc_with(nlp, [(0, 2, "PER"), (8, 11, "ORG")])]
    seen = training_mentions(train)
    assert seen == {"PER": {"александр пушкин"}, "ORG": {"санкт - петербурге"}}
    # "Санкт-Петербурге" was seen as ORG, not as LOC: for LOC it is unseen.
    errors = error_breakdown([example(nlp, [(0, 2, "PER"), (4, 5, "LOC")], GOLD)], seen)
    assert errors["per_type"]["PER"]["seen"] == 1 and errors["per_type"]["PER"]["seen_recall"] == 1.0
    assert errors["per_type"]["LOC"]["seen"] == 0 and errors["per_type"]["LOC"]["unseen"] == 2
    assert errors["per_type"]["LOC"]["unseen_recall"] == 0.5


def test_error_examples_show_the_entity_the_prediction_and_the_context(nlp):
    predicted = [(1, 2, "PER"), (4, 5, "ORG"), (6, 7, "PER")]
    cases = error_examples([example(nlp, predicted, GOLD)], per_kind=5)
    # Forty characters of context on each side, whitespace collapsed.
    assert cases["wrong_boundary"] == [
        "'Александр Пушкин' PER -> 'Пушкин' PER | Александр Пушкин родился в Москве и жил в Санкт - Петерб"
    ]
    assert cases["wrong_type"][0].startswith("'Москве' LOC -> 'Москве' ORG | ")
    assert cases["missed"][0].startswith("'Санкт - Петербурге' LOC -> nothing | ")
    assert cases["spurious"][0].startswith("'жил' PER | ")
    assert error_examples([example(nlp, predicted, GOLD)], per_kind=0) == {
        "wrong_type": [], "wrong_boundary": [], "missed": [], "spurious": [],
    }  # fmt: skip


def test_mention_keys_ignore_case_and_spacing():
    assert mention_key("Санкт -  Петербург\n") == mention_key("санкт - петербург")


def test_error_table_has_a_row_per_type_and_the_total(nlp):
    seen = training_mentions([doc_with(nlp, [(0, 2, "PER")])])
    errors = error_breakdown([example(nlp, [(0, 2, "PER")], GOLD)], seen)
    header, rows = error_table({"ours": errors})
    assert [row[:2] for row in rows] == [["ours", "LOC"], ["ours", "PER"], ["ours", "all"]]
    assert rows[-1][header.index("unseen")] == "67%"
    assert rows[1][header.index("R seen")] == "1.000"
    header, rows = error_table({"": error_breakdown([example(nlp, GOLD, GOLD)])})
    assert "system" not in header and "unseen" not in header


def test_token_io_gives_partial_credit_for_a_partly_found_entity(nlp):
    scores = token_io_prf([example(nlp, [(1, 2, "PER")], [(0, 2, "PER")])])
    assert scores["per_type"]["PER"] == pytest.approx({"p": 1.0, "r": 0.5, "f": 2 / 3})


def test_evaluate_ner_reports_the_errors_of_a_saved_pipeline(trained_ner, tmp_path):
    trained_ner.to_disk(tmp_path / "model")
    gold = [eg.reference for eg in make_ner_examples(trained_ner)]
    DocBin(docs=gold).to_disk(tmp_path / "gold.spacy")
    DocBin(docs=gold[:1]).to_disk(tmp_path / "train.spacy")
    args = [
        "evaluate-ner", str(tmp_path / "model"), str(tmp_path / "gold.spacy"),
        "--train-path", str(tmp_path / "train.spacy"), "--output", str(tmp_path / "ner.json"),
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "ner.json").read_text(encoding="utf8"))
    errors = metrics["errors"]["total"]
    # The pipeline learnt these sentences; the "training" file has only the first one's two.
    assert errors["gold"] == sum(len(doc.ents) for doc in gold) == 10
    assert errors["found"] == round(metrics["entity"]["ents_r"] * 10)
    assert (errors["seen"], errors["unseen"]) == (2, 8)
    assert "| R unseen |" in (tmp_path / "ner.md").read_text(encoding="utf8")
