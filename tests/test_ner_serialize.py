"""Round trips must give identical predictions: a deserializer that drops weights (thinc #950)
or a placeholder-sized module (projects #58) would fail here, not only in production."""
import subprocess
import sys

import numpy
import pytest
import spacy
from spacy.util import load_model_from_config
from thinc.api import fix_random_seed

from conftest import RU_SENTENCES, TINY_NER_MODEL, make_ner_examples
from spacy_ru_nn.torch_glue import torch_module

TEXTS = [text for text, _ in RU_SENTENCES]


def predictions(nlp):
    ner = nlp.get_pipe("bilstm_ner")
    docs = [nlp.make_doc(text) for text in TEXTS]
    return [numpy.asarray(scores) for scores in ner.predict(docs)]


def assert_same(nlp_a, nlp_b):
    for a, b in zip(predictions(nlp_a), predictions(nlp_b)):
        numpy.testing.assert_array_equal(a, b)
    assert [[(e.text, e.label_) for e in doc.ents] for doc in nlp_a.pipe(TEXTS)] == [
        [(e.text, e.label_) for e in doc.ents] for doc in nlp_b.pipe(TEXTS)
    ]


def test_to_bytes_from_bytes_on_fresh_pipeline(trained_ner):
    fresh = load_model_from_config(trained_ner.config, auto_fill=True)
    fresh.from_bytes(trained_ner.to_bytes())
    assert_same(trained_ner, fresh)


def test_to_disk_spacy_load(trained_ner, tmp_path):
    trained_ner.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.get_pipe("bilstm_ner").labels == ("LOC", "ORG", "PER")
    assert_same(trained_ner, loaded)


def test_vector_table_is_stored_compactly(trained_ner, tmp_path):
    trained_ner.to_disk(tmp_path / "pipeline")
    model = spacy.load(tmp_path / "pipeline").get_pipe("bilstm_ner").model
    vectors = torch_module(model.get_ref("embed").get_ref("embedding")).vectors
    assert vectors.vector_codes.dtype.is_floating_point is False
    assert vectors.n_rows > 200_000
    size = sum(p.stat().st_size for p in (tmp_path / "pipeline").rglob("*") if p.is_file())
    assert size < 40_000_000


def test_load_in_a_fresh_process(trained_ner, tmp_path):
    path = tmp_path / "pipeline"
    trained_ner.to_disk(path)
    expected = [[(e.text, e.label_) for e in doc.ents] for doc in trained_ner.pipe(TEXTS)]
    # No `import spacy_ru_nn`: the entry points must find the factory.
    code = (
        "import json, sys, spacy; nlp = spacy.load(sys.argv[1]); "
        "print(json.dumps([[[e.text, e.label_] for e in d.ents] for d in nlp.pipe(sys.argv[2:])]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path), *TEXTS], capture_output=True, text=True, check=True
    )
    assert [[tuple(e) for e in doc] for doc in __import__("json").loads(out.stdout)] == expected


def test_corrupt_model_file_is_a_clear_error(trained_ner, tmp_path):
    path = tmp_path / "pipeline"
    trained_ner.to_disk(path)
    model_file = path / "bilstm_ner" / "model"
    model_file.write_bytes(model_file.read_bytes()[:1000])
    with pytest.raises(ValueError, match=r"Could not load component 'bilstm_ner'.*truncated"):
        spacy.load(path)


def test_missing_model_file_is_a_clear_error(trained_ner, tmp_path):
    path = tmp_path / "pipeline"
    trained_ner.to_disk(path)
    (path / "bilstm_ner" / "model").unlink()
    with pytest.raises(ValueError, match=r"Could not load component 'bilstm_ner'.*model"):
        spacy.load(path)


def test_pickle_round_trip(trained_ner):
    """spawn/forkserver workers receive the pipeline pickled: no local lambdas in the model."""
    import pickle

    assert_same(trained_ner, pickle.loads(pickle.dumps(trained_ner)))


def train(nlp, steps=30):
    fix_random_seed(0)
    examples = make_ner_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    optimizer.learn_rate = 0.01
    for _ in range(steps):
        nlp.update(examples, sgd=optimizer, drop=0.0)
    return nlp


def test_untrained_pipeline_round_trips_and_trains_as_if_never_saved(tmp_path):
    """Saved before initialize (the output module not built yet), loaded with spacy.load and
    from bytes, then initialized and trained: the same predictions as the pipeline that was
    never saved."""
    fix_random_seed(0)
    nlp = spacy.blank("ru")
    nlp.add_pipe("bilstm_ner", config={"model": TINY_NER_MODEL})
    nlp.to_disk(tmp_path / "untrained")
    from_disk = spacy.load(tmp_path / "untrained")
    from_bytes = load_model_from_config(nlp.config, auto_fill=True).from_bytes(nlp.to_bytes())
    trained = train(nlp)
    for loaded in (from_disk, from_bytes):
        assert_same(trained, train(loaded))


def test_trained_pipeline_round_trips_through_bytes_and_disk(tmp_path):
    """After training: to_bytes/from_bytes and to_disk/spacy.load, twice over, predict the same."""
    nlp = spacy.blank("ru")
    nlp.add_pipe("bilstm_ner", config={"model": TINY_NER_MODEL})
    nlp = train(nlp)
    once = load_model_from_config(nlp.config, auto_fill=True).from_bytes(nlp.to_bytes())
    assert_same(nlp, once)
    once.to_disk(tmp_path / "pipeline")
    twice = spacy.load(tmp_path / "pipeline")
    assert_same(nlp, twice)
    assert twice.get_pipe("bilstm_ner").to_bytes() == nlp.get_pipe("bilstm_ner").to_bytes()


def test_thinc_saves_every_attr_of_the_model(trained_ner):
    """thinc skips an attr it cannot serialize without a word; caches and functions live
    outside attrs (the featurizer's are plain attributes), so nothing is lost on saving.
    PyTorchWrapper's own conversion functions are rebuilt by its builder."""
    from thinc.api import serialize_attr

    model = trained_ner.get_pipe("bilstm_ner").model
    for node in model.walk():
        for name, value in node.attrs.items():
            if name in ("convert_inputs", "convert_outputs"):
                continue
            serialize_attr(value, value, name, node)  # raises TypeError where thinc would skip
