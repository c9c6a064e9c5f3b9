import shutil
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin
from typer.testing import CliRunner

from spacy_ru_nn.cli import app
from spacy_ru_nn.corpora.factru import (
    ConversionStats,
    CorpusFormatError,
    convert_folder,
    resolve_overlaps,
    fold_documents,
    split_documents,
)

FIXTURE = Path(__file__).parent / "fixtures" / "factru"


@pytest.fixture
def corpus(tmp_path):
    shutil.copytree(FIXTURE, tmp_path / "factru")
    return tmp_path / "factru"


def ents(doc):
    return [(e.text, e.label_) for e in doc.ents]


def test_mapping_to_per_loc_org():
    docs, stats = convert_folder(spacy.blank("ru"), FIXTURE / "testset")
    # Person -> one PER over all its spans; LocOrg loc_name -> LOC; Org org_name -> ORG;
    # "Грузии" (LocOrg) lies inside "МИД Грузии" (Org): the outer span wins.
    assert ents(docs[0]) == [("Александр Пушкин", "PER"), ("Москве", "LOC"), ("МИД Грузии", "ORG")]
    assert stats.kept == 3 and stats.dropped_overlap == 1 and stats.expanded == 0
    assert [s.text for s in docs[0].sents] == ["Александр Пушкин родился в Москве.", "МИД Грузии сделал заявление."]


def test_overlap_resolution_is_deterministic():
    stats = ConversionStats()
    spans = [(0, 5, "LOC"), (0, 5, "ORG"), (3, 9, "PER"), (20, 25, "LOC")]
    first = resolve_overlaps(spans, ConversionStats())
    for _ in range(5):
        assert resolve_overlaps(list(reversed(spans)), ConversionStats()) == first
    assert resolve_overlaps(spans, stats) == [(3, 9, "PER"), (20, 25, "LOC")]


def test_misaligned_span_is_widened_and_counted(corpus):
    doc_path = corpus / "testset" / "pushkin_1.spans"
    # "осква" starts inside the token "Москве": widened to the token, and counted.
    doc_path.write_text(doc_path.read_text().replace("3 loc_name 27 6", "3 loc_name 28 5"))
    docs, stats = convert_folder(spacy.blank("ru"), corpus / "testset")
    assert ("Москве", "LOC") in ents(docs[0])
    assert stats.expanded == 1
    assert "1 spans did not align" in stats.report()


def test_span_outside_text_names_file_and_line(corpus):
    path = corpus / "testset" / "pushkin_1.spans"
    lines = path.read_text().splitlines()
    lines[2] = "3 loc_name 500 6 105 1"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(CorpusFormatError, match=r"pushkin_1.spans:3: span 500\+6 falls outside the text"):
        convert_folder(spacy.blank("ru"), corpus / "testset")
    docs, stats = convert_folder(spacy.blank("ru"), corpus / "testset", skip_bad=True)
    assert len(stats.skipped_records) == 1
    assert ents(docs[0]) == [("Александр Пушкин", "PER"), ("МИД Грузии", "ORG")]
    assert "1 malformed records skipped" in stats.report()


def test_tokens_out_of_step_with_text(corpus):
    path = corpus / "testset" / "pushkin_1.tokens"
    path.write_text(path.read_text().replace("105 27 6 Москве", "105 26 6 Москве"))
    with pytest.raises(CorpusFormatError, match=r"pushkin_1.tokens:5: token 'Москве' at 26 .* out of step"):
        convert_folder(spacy.blank("ru"), corpus / "testset")


def test_non_utf8_file(corpus):
    (corpus / "testset" / "pushkin_1.txt").write_bytes("Пушкин".encode("cp1251"))
    with pytest.raises(CorpusFormatError, match=r"pushkin_1.txt:0: not UTF-8"):
        convert_folder(spacy.blank("ru"), corpus / "testset")


def test_empty_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="No factRuEval documents"):
        convert_folder(spacy.blank("ru"), tmp_path)


def test_split_by_document_is_seeded():
    docs = [spacy.blank("ru").make_doc(f"документ {i}") for i in range(10)]
    train, dev = split_documents(docs, 0.2, seed=0)
    assert len(train) == 8 and len(dev) == 2
    assert {d.text for d in train}.isdisjoint({d.text for d in dev})
    assert [d.text for d in split_documents(docs, 0.2, seed=0)[1]] == [d.text for d in dev]
    assert [d.text for d in split_documents(docs, 0.2, seed=1)[1]] != [d.text for d in dev]


def test_folds_hold_out_every_document_exactly_once():
    docs = [spacy.blank("ru").make_doc(f"документ {i}") for i in range(10)]
    folds = fold_documents(docs, 3, seed=0)
    held_out = [d.text for _, dev in folds for d in dev]
    assert sorted(held_out) == sorted(d.text for d in docs)
    assert sorted(len(dev) for _, dev in folds) == [3, 3, 4]
    for train, dev in folds:
        assert len(train) + len(dev) == 10
        assert {d.text for d in train}.isdisjoint({d.text for d in dev})
    with pytest.raises(ValueError, match="n_folds"):
        fold_documents(docs, 1, seed=0)


def test_cli_writes_docbins_and_reports(corpus, tmp_path):
    result = CliRunner().invoke(app, ["convert", "factru", str(corpus), str(tmp_path / "out"), "--dev-fraction", "0.5", "--n-folds", "2"])
    assert result.exit_code == 0, result.output
    assert "3 entity spans kept" in result.output and "1 spans dropped" in result.output
    nlp = spacy.blank("ru")
    counts = {name: len(list(DocBin().from_disk(tmp_path / "out" / f"{name}.spacy").get_docs(nlp.vocab))) for name in ("train", "dev", "test")}
    assert counts == {"train": 1, "dev": 1, "test": 1}
    assert len(list(DocBin().from_disk(tmp_path / "out" / "devset.spacy").get_docs(nlp.vocab))) == 2
    for fold in ("fold_0", "fold_1"):
        held_out = DocBin().from_disk(tmp_path / "out" / "folds" / fold / "dev.spacy")
        assert len(held_out) == 1


def test_cli_warns_when_there_are_fewer_documents_than_folds(corpus, tmp_path):
    result = CliRunner().invoke(app, ["convert", "factru", str(corpus), str(tmp_path / "out"), "--n-folds", "3"])
    assert result.exit_code == 0, result.output
    assert "3 folds need at least 3 devset documents, there are 2" in " ".join(result.output.split())
    assert not (tmp_path / "out" / "folds").exists()


def test_cli_stops_on_bad_record_with_a_message(corpus, tmp_path):
    path = corpus / "devset" / "pushkin_2.spans"
    path.write_text("1 org_name 0\n")
    result = CliRunner().invoke(app, ["convert", "factru", str(corpus), str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "pushkin_2.spans:1" in result.output
