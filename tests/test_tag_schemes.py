import numpy
import pytest

from spacy_ru_nn.tag_schemes import biluo_to_scheme, decode_spans, tag_names


def ids(tags, sequence):
    return numpy.array([tags.index(t) for t in sequence])


def test_io_tags_every_entity_token_with_i():
    # [Александр Пушкин | PER] родился в [Москве | LOC] -> I-PER I-PER O O I-LOC
    biluo = ["B-PER", "L-PER", "O", "O", "U-LOC"]
    assert biluo_to_scheme(biluo, "IO") == ["I-PER", "I-PER", "O", "O", "I-LOC"]
    assert biluo_to_scheme(biluo, "BIO") == ["B-PER", "I-PER", "O", "O", "B-LOC"]


def test_missing_gold_stays_missing():
    assert biluo_to_scheme([None, "-", "O"], "BIO") == [None, None, "O"]


def test_tag_inventory():
    assert tag_names(["LOC", "PER"], "IO") == ["O", "I-LOC", "I-PER"]
    assert tag_names(["LOC"], "BIO") == ["O", "B-LOC", "I-LOC"]
    with pytest.raises(ValueError, match="Unknown tag scheme"):
        tag_names(["LOC"], "BILUO?")


def test_decode_io_merges_runs_of_one_type():
    tags = tag_names(["LOC", "PER"], "IO")
    seq = ["I-PER", "I-PER", "O", "O", "I-LOC"]
    assert decode_spans(ids(tags, seq), tags) == [(0, 2, "PER"), (4, 5, "LOC")]
    # Adjacent entities of different types split; of one type merge (IO's known limit).
    assert decode_spans(ids(tags, ["I-PER", "I-LOC", "I-LOC"]), tags) == [(0, 1, "PER"), (1, 3, "LOC")]


def test_decode_bio_keeps_adjacent_entities_apart():
    tags = tag_names(["PER"], "BIO")
    seq = ["B-PER", "I-PER", "B-PER", "O", "B-PER"]
    assert decode_spans(ids(tags, seq), tags) == [(0, 2, "PER"), (2, 3, "PER"), (4, 5, "PER")]


@pytest.mark.parametrize(
    "seq,expected",
    [
        (["I-PER", "I-PER"], [(0, 2, "PER")]),  # I without B opens an entity
        (["O", "I-LOC", "O"], [(1, 2, "LOC")]),
        (["B-PER", "I-LOC", "I-LOC"], [(0, 1, "PER"), (1, 3, "LOC")]),  # type switch
        (["I-PER", "B-PER", "I-PER", "I-LOC"], [(0, 1, "PER"), (1, 3, "PER"), (3, 4, "LOC")]),
        (["O", "O"], []),
        (["B-LOC"], [(0, 1, "LOC")]),
    ],
)
def test_decode_bio_always_valid(seq, expected):
    tags = tag_names(["LOC", "PER"], "BIO")
    spans = decode_spans(ids(tags, seq), tags)
    assert spans == expected
    for (s1, e1, _), (s2, e2, _) in zip(spans, spans[1:]):
        assert e1 <= s2


def test_decode_random_sequences_are_valid_spans():
    tags = tag_names(["LOC", "ORG", "PER"], "BIO")
    rng = numpy.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(0, 30))
        spans = decode_spans(rng.integers(0, len(tags), n), tags)
        covered = numpy.zeros(n, dtype=int)
        for start, end, label in spans:
            assert 0 <= start < end <= n and label in ("LOC", "ORG", "PER")
            covered[start:end] += 1
        assert covered.max(initial=0) <= 1


def test_decode_empty():
    assert decode_spans(numpy.zeros(0, dtype=int), tag_names(["PER"], "BIO")) == []
