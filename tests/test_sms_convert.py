"""SMS conversion: strict parsing, duplicate-aware stratified split and folds, the CLI."""
import json
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin
from typer.testing import CliRunner

from spacy_ru_nn.cli import app
from spacy_ru_nn.corpora.sms import (
    MalformedLineError,
    cross_validation_splits,
    fold_groups,
    group_duplicates,
    leaked_texts,
    read_sms_tsv,
    split_groups,
)

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE = FIXTURES / "sms_sample.tsv"
BAD = FIXTURES / "sms_bad.tsv"
runner = CliRunner()


def flat(output: str) -> str:
    """CLI output with wasabi's line wrapping undone."""
    return " ".join(output.split())


def test_read_sample():
    messages, skipped = read_sms_tsv(SAMPLE)
    assert skipped == 0
    assert len(messages) == 20
    assert sum(m.label == "spam" for m in messages) == 7
    assert messages[1].text.startswith("WINNER!! You have been selected")
    assert messages[1].line_no == 2
    # "Sorry, I'll call later" x3, "Ok lar..." x2, the FA Cup spam x2.
    assert len(group_duplicates(messages)) == 16


@pytest.mark.parametrize(
    "content,reason",
    [
        (b"spam no tab here\n", "no tab"),
        (b"junk\tsome text\n", "unknown label 'junk'"),
        (b"ham\tbad byte \xff\n", "not valid UTF-8"),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path, content, reason):
    path = tmp_path / "sms.tsv"
    path.write_bytes(b"ham\tfine\n" + content)
    with pytest.raises(MalformedLineError) as excinfo:
        read_sms_tsv(path)
    assert excinfo.value.line_no == 2
    assert f"{path}:2:" in str(excinfo.value)
    assert reason in str(excinfo.value)


def test_skip_bad_counts():
    messages, skipped = read_sms_tsv(BAD, skip_bad=True)
    assert skipped == 3
    assert [m.line_no for m in messages] == [1, 5]


def test_split_keeps_duplicates_together_and_stratifies():
    messages, _ = read_sms_tsv(SAMPLE)
    train, dev, test = split_groups(messages, (0.5, 0.25, 0.25), seed=0)
    assert len(train) + len(dev) + len(test) == len(messages)
    for held_out in (dev, test):
        assert leaked_texts(train, held_out) == []
    assert leaked_texts(dev, test) == []
    for part in (train, dev, test):
        assert {m.label for m in part} == {"ham", "spam"}
    texts = {m.text: part for part, msgs in (("train", train), ("dev", dev), ("test", test)) for m in msgs}
    sorry = [m for m in messages if m.text == "Sorry, I'll call later"]
    assert all(texts[m.text] == texts[sorry[0].text] for m in sorry)
    # Seeded: same seed, same split; another seed, another split.
    assert split_groups(messages, (0.5, 0.25, 0.25), seed=0) == [train, dev, test]
    assert split_groups(messages, (0.5, 0.25, 0.25), seed=1) != [train, dev, test]


def test_folds_partition_groups():
    messages, _ = read_sms_tsv(SAMPLE)
    folds = fold_groups(messages, 3, seed=0)
    assert sorted(m.line_no for fold in folds for m in fold) == list(range(1, 21))
    for i, fold in enumerate(folds):
        others = [m for j, other in enumerate(folds) if j != i for m in other]
        assert leaked_texts(others, fold) == []
        assert {m.label for m in fold} == {"ham", "spam"}
    for train, dev, test in cross_validation_splits(messages, 3, dev_fraction=0.25, seed=0):
        assert leaked_texts(train, test) == [] and leaked_texts(train, dev) == []
        assert len(train) + len(dev) + len(test) == 20


def test_convert_cli(tmp_path):
    result = runner.invoke(app, ["convert", "sms", str(SAMPLE), str(tmp_path), "--folds", "2"])
    assert result.exit_code == 0, result.output
    assert "20 messages, 16 distinct texts" in flat(result.output)
    nlp = spacy.blank("en")
    total = 0
    for split in ("train", "dev", "test"):
        docs = list(DocBin().from_disk(tmp_path / f"{split}.spacy").get_docs(nlp.vocab))
        total += len(docs)
        assert all(sorted(doc.cats) == ["ham", "spam"] and sum(doc.cats.values()) == 1.0 for doc in docs)
    assert total == 20
    assert (tmp_path / "folds" / "fold1" / "test.spacy").exists()


def test_convert_cli_bad_file(tmp_path):
    result = runner.invoke(app, ["convert", "sms", str(BAD), str(tmp_path)])
    assert result.exit_code == 1
    assert f"{BAD}:2: no tab" in flat(result.output)
    result = runner.invoke(app, ["convert", "sms", str(BAD), str(tmp_path), "--skip-bad", "--folds", "0"])
    assert result.exit_code == 0, result.output
    assert "Skipped 3 malformed line(s)" in flat(result.output)


def test_check_metrics_cli(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"f1": 0.95, "spacy": {"cats_score": 0.9}, "loss": 0.2}))
    ok = runner.invoke(app, ["check-metrics", str(path), "--min", "f1=0.9", "--min", "spacy.cats_score=0.85", "--max", "loss=0.5"])
    assert ok.exit_code == 0, ok.output
    low = runner.invoke(app, ["check-metrics", str(path), "--min", "f1=0.96"])
    assert low.exit_code == 1
    assert "f1 = 0.9500 is below the floor 0.96" in flat(low.output)
    missing = runner.invoke(app, ["check-metrics", str(path), "--min", "spacy.nope=0.1"])
    assert missing.exit_code == 1
    assert "spacy.nope: missing" in flat(missing.output)
