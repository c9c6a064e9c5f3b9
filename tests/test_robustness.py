"""Reliability: hostile inputs, broken model files, several processes, determinism, GPU.

Both pipelines are tiny models trained in fixtures (a few seconds); nothing here reads the real
corpora. The 10,000-text battery through one and two processes is marked `slow` (--slow).
"""
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import spacy
import srsly
import torch
from spacy.lang.en import English
from spacy.tokens import DocBin
from spacy.training import Example
from thinc.api import fix_random_seed
from typer.testing import CliRunner

from conftest import HAM, RU_SENTENCES, SMALL_NER_MODEL, SPAM, make_ner_examples
from spacy_ru_nn import __version__
from scripts import app
from spacy_ru_nn.cli import app as user_app
from scripts.robustness import (
    HUGE_TOKENS,
    ONE_MIB,
    battery_cases,
    battery_texts,
    doc_problems,
    doc_signature,
    peak_rss_increase,
    reset_peak_rss,
)
from spacy_ru_nn.versions import VERSION_KEY, major_minor
from spacy_ru_nn.ner.features import sequence_lengths

CASES = battery_cases()
SHORT_CASES = battery_cases(with_huge=False)

TEXTCAT_MODEL = {
    "@architectures": "spacy-ru-nn.BoWPerceptron.v1",
    "features": "vocab",
    "n_buckets": 0,
    "min_df": 1,
    "ngram_range": [1, 2],
    "lowercase": True,
    "token_attrs": ["SHAPE"],
    "weighting": "tfidf",
    "hidden_width": 16,
    "depth": 1,
    "activation": "relu",
    "nO": None,
}
# Ordinary texts mixed into the batches so that the odd ones share batches with normal ones.
ORDINARY = [text for text, _ in RU_SENTENCES] + SPAM + HAM


def textcat_examples(nlp):
    data = [(t, "spam") for t in SPAM] + [(t, "ham") for t in HAM]
    return [Example.from_dict(nlp.make_doc(t), {"cats": {"ham": float(y == "ham"), "spam": float(y == "spam")}}) for t, y in data]


def train_textcat(steps=30, drop=0.1):
    nlp = English()
    nlp.add_pipe("nn_textcat", config={"model": TEXTCAT_MODEL})
    examples = textcat_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    optimizer.learn_rate = 0.01
    losses = []
    for _ in range(steps):
        losses.append(nlp.update(examples, sgd=optimizer, drop=drop)["nn_textcat"])
    return nlp, losses


@pytest.fixture(scope="module")
def textcat_nlp():
    fix_random_seed(0)
    return train_textcat()[0]


@pytest.fixture(scope="module")
def pipelines(trained_ner, textcat_nlp):
    return {"ner": trained_ner, "textcat": textcat_nlp}


@pytest.fixture(scope="module")
def saved(pipelines, tmp_path_factory):
    """Both pipelines on disk, for loading and for child processes."""
    root = tmp_path_factory.mktemp("pipelines")
    for name, nlp in pipelines.items():
        nlp.to_disk(root / name)
    return {name: root / name for name in pipelines}


@pytest.fixture(scope="module")
def alone_and_batched(pipelines):
    """Per pipeline: every battery case run on its own, and all of them in one batch with
    ordinary texts in between (the 1 MiB text and the 100,000-token document included)."""
    results = {}
    for name, nlp in pipelines.items():
        alone = {case: nlp(text) for case, text in CASES.items()}
        mixed = []
        for case, text in CASES.items():
            mixed.extend([(None, ORDINARY[len(mixed) % len(ORDINARY)]), (case, text)])
        docs = list(nlp.pipe([text for _, text in mixed], batch_size=len(mixed)))
        batched = {case: doc for (case, _), doc in zip(mixed, docs) if case is not None}
        results[name] = (alone, batched)
    return results


# ---------------------------------------------------------------------------------------------
# 1. The input battery


def test_battery_cases_are_what_they_claim():
    nlp = spacy.blank("ru")
    assert len(CASES["one_mib"].encode("utf8")) <= ONE_MIB
    assert len(CASES["one_mib"].encode("utf8")) > ONE_MIB - 4
    assert len(nlp.make_doc(CASES["tokens_100k"])) == HUGE_TOKENS
    assert any(ord(ch) > 0xFFFF for ch in CASES["emoji_astral"])
    assert "\u200b" in CASES["zero_width_control"] and "\x00" in CASES["zero_width_control"]
    texts = battery_texts(ORDINARY, 10_000)
    assert len(texts) == 10_000
    assert all(case in texts for case in CASES.values())


@pytest.mark.parametrize("pipeline", ["ner", "textcat"])
@pytest.mark.parametrize("case", list(CASES))
def test_battery_valid_and_same_alone_as_in_batch(alone_and_batched, pipelines, pipeline, case):
    alone, batched = alone_and_batched[pipeline]
    doc = alone[case]
    assert doc.text == CASES[case]
    assert doc_problems(doc) == []
    assert doc_problems(batched[case]) == []
    if pipeline == "ner":
        labels = set(pipelines["ner"].get_pipe("bilstm_ner").labels)
        assert {ent.label_ for ent in doc.ents} <= labels
        ends = [(ent.start, ent.end) for ent in doc.ents]
        assert all(0 <= s < e <= len(doc) for s, e in ends)
        assert all(e1 <= s2 for (_, e1), (s2, _) in zip(ends, ends[1:]))
        assert not doc.cats
    else:
        assert set(doc.cats) == {"ham", "spam"}
        assert all(0.0 <= p <= 1.0 and math.isfinite(p) for p in doc.cats.values())
        assert doc.cats["ham"] + doc.cats["spam"] == pytest.approx(1.0, abs=1e-6)
        assert not doc.ents
    assert doc_signature(doc) == doc_signature(batched[case])


def test_ner_finds_entities_in_the_huge_documents(alone_and_batched):
    """Not only valid but working: the overfitted sentences repeat in both huge texts."""
    alone, _ = alone_and_batched["ner"]
    for case in ("one_mib", "tokens_100k"):
        labels = {ent.label_ for ent in alone[case].ents}
        assert {"PER", "LOC", "ORG"} <= labels, case


def test_peak_memory_of_the_100k_token_document_is_bounded(trained_ner):
    """The BiLSTM reads sequences of at most `window` tokens (sentences, or windows of a doc
    without them), and length buckets bound every padded batch, so a 100,000-token document
    costs memory in proportion to its features, not to 100,000 x batch padding.

    Measured as the rise of this process's peak RSS (VmHWM after resetting it through
    /proc/self/clear_refs), which includes torch's allocations."""
    if not reset_peak_rss():
        pytest.skip("needs Linux /proc/self/clear_refs to reset the peak RSS")
    nlp = trained_ner
    window = nlp.get_pipe("bilstm_ner").model.get_ref("embed").get_ref("featurizer").attrs["window"]
    huge = nlp.make_doc(CASES["tokens_100k"])
    lengths = sequence_lengths([huge], window)
    assert lengths.sum() == HUGE_TOKENS and lengths.max() == window
    nlp(nlp.make_doc(CASES["tokens_100k"][:10_000]))  # warm caches and allocator first
    increase = peak_rss_increase(lambda: nlp(huge))
    print(f"peak RSS increase on a {HUGE_TOKENS}-token doc: {increase / 2**20:.0f} MiB")
    # Measured: 310-365 MiB for this small model, about 490 MiB for the shipped one (width
    # 256): a few KiB per token (vectors, features, BiLSTM states), linear in the length.
    assert increase < HUGE_TOKENS * 6 * 1024


def test_texts_beyond_max_length_fail_with_spacys_message(pipelines):
    nlp = pipelines["textcat"]
    with pytest.raises(ValueError, match="E088"):
        nlp("a " * (nlp.max_length // 2 + 1))


# ---------------------------------------------------------------------------------------------
# 2. Bad training data: the gaps not covered by test_factru_convert.py / test_sms_convert.py


FACTRU = Path(__file__).parent / "fixtures" / "factru"


@pytest.fixture
def factru_copy(tmp_path):
    shutil.copytree(FACTRU, tmp_path / "factru")
    return tmp_path / "factru"


def test_factru_non_numeric_token_offset_names_file_and_line(factru_copy):
    from spacy_ru_nn.corpora.factru import CorpusFormatError, convert_folder

    path = factru_copy / "testset" / "pushkin_1.tokens"
    lines = path.read_text(encoding="utf8").splitlines()
    fields = lines[1].split()
    fields[1] = "x" + fields[1]
    lines[1] = " ".join(fields)
    path.write_text("\n".join(lines) + "\n", encoding="utf8")
    with pytest.raises(CorpusFormatError, match=r"pushkin_1.tokens:2: "):
        convert_folder(spacy.blank("ru"), factru_copy / "testset")


def test_factru_non_utf8_spans_file_names_it(factru_copy):
    from spacy_ru_nn.corpora.factru import CorpusFormatError, convert_folder

    path = factru_copy / "testset" / "pushkin_1.spans"
    path.write_bytes(path.read_bytes() + b"9 org_name 0 3 \xff\xfe\n")
    with pytest.raises(CorpusFormatError, match=r"pushkin_1.spans:0: not UTF-8"):
        convert_folder(spacy.blank("ru"), factru_copy / "testset")


def test_factru_cli_skip_bad_reports_the_count(factru_copy, tmp_path):
    path = factru_copy / "devset" / "pushkin_2.spans"
    path.write_text(path.read_text(encoding="utf8") + "99 org_name 100000 5\n", encoding="utf8")
    runner = CliRunner()
    stop = runner.invoke(user_app, ["convert", "factru", str(factru_copy), str(tmp_path / "a")])
    assert stop.exit_code == 1 and "pushkin_2.spans" in stop.output and "outside the text" in stop.output
    skip = runner.invoke(user_app, ["convert", "factru", str(factru_copy), str(tmp_path / "b"), "--skip-bad"])
    assert skip.exit_code == 0, skip.output
    assert "1 malformed records skipped" in skip.output


# ---------------------------------------------------------------------------------------------
# 3. Broken or foreign model files


COMPONENTS = {"ner": "bilstm_ner", "textcat": "nn_textcat"}


def _copy(saved, pipeline, tmp_path):
    target = tmp_path / pipeline
    shutil.copytree(saved[pipeline], target)
    return target


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("pipeline", ["ner", "textcat"])
@pytest.mark.parametrize(
    "damage",
    [
        ("truncated weights", lambda d: _truncate(d / "model")),
        ("missing weights", lambda d: (d / "model").unlink()),
        ("foreign weights", lambda d: (d / "model").write_bytes(b"PK\x03\x04 not a model" * 8)),
        ("corrupt cfg", lambda d: (d / "cfg").write_text("{not json")),
    ],
    ids=lambda damage: damage[0] if isinstance(damage, tuple) else damage,
)
def test_broken_files_give_a_clear_error(saved, tmp_path, pipeline, damage):
    path = _copy(saved, pipeline, tmp_path)
    component = COMPONENTS[pipeline]
    damage[1](path / component)
    with pytest.raises(ValueError) as excinfo:
        spacy.load(path)
    message = str(excinfo.value)
    assert f"Could not load component '{component}'" in message
    assert str(path / component) in message
    assert "re-train the pipeline or re-install its package" in message


@pytest.mark.parametrize("pipeline", ["ner", "textcat"])
def test_unknown_architecture_names_it(saved, tmp_path, pipeline):
    path = _copy(saved, pipeline, tmp_path)
    config = (path / "config.cfg").read_text()
    arch = "spacy-ru-nn.EntityTagger.v1" if pipeline == "ner" else "spacy-ru-nn.BoWPerceptron.v1"
    assert arch in config
    (path / "config.cfg").write_text(config.replace(arch, arch.replace(".v1", ".v99")))
    # spaCy's own E893: it names the missing function and says to install the package.
    with pytest.raises(Exception, match=r"E893.*v99.*make sure the package is installed"):
        spacy.load(path)


@pytest.mark.parametrize("pipeline", ["ner", "textcat"])
def test_version_is_stored_and_newer_minor_refused(pipelines, saved, tmp_path, pipeline):
    component = COMPONENTS[pipeline]
    assert pipelines[pipeline].get_pipe(component).cfg[VERSION_KEY] == __version__
    path = _copy(saved, pipeline, tmp_path)
    cfg_path = path / component / "cfg"
    cfg = srsly.read_json(cfg_path)
    assert cfg[VERSION_KEY] == __version__
    major, minor = major_minor(__version__)
    # Same major.minor, newer patch: loads.
    srsly.write_json(cfg_path, {**cfg, VERSION_KEY: f"{major}.{minor}.99"})
    spacy.load(path)
    # Older pipelines (no key at all) load as before.
    srsly.write_json(cfg_path, {k: v for k, v in cfg.items() if k != VERSION_KEY})
    spacy.load(path)
    # A newer minor release: refused with the file, both versions and the fix.
    newer = f"{major}.{minor + 1}.0"
    srsly.write_json(cfg_path, {**cfg, VERSION_KEY: newer})
    with pytest.raises(ValueError) as excinfo:
        spacy.load(path)
    message = str(excinfo.value)
    assert str(cfg_path) in message and newer in message and __version__ in message
    assert f"pip install 'spacy-ru-nn>={major}.{minor + 1}'" in message
    # An unreadable version names the file too.
    srsly.write_json(cfg_path, {**cfg, VERSION_KEY: "garbage"})
    with pytest.raises(ValueError, match=re.escape(f"{cfg_path}: component '{component}': Unreadable")):
        spacy.load(path)
    # The same check guards from_bytes.
    nlp = pipelines[pipeline]
    pipe_bytes = nlp.get_pipe(component).to_bytes()
    msg = srsly.msgpack_loads(pipe_bytes)
    msg["cfg"] = srsly.json_dumps({**srsly.json_loads(msg["cfg"]), VERSION_KEY: newer})
    fresh = spacy.load(saved[pipeline])
    with pytest.raises(ValueError, match="saved by spacy-ru-nn " + newer.replace(".", r"\.")):
        fresh.get_pipe(component).from_bytes(srsly.msgpack_dumps(msg))


@pytest.mark.parametrize("pipeline", ["ner", "textcat"])
def test_version_key_reaches_the_scorer_harmlessly(pipelines, pipeline):
    """cfg keys are passed to the scorer as kwargs (spaCy's Pipe.score)."""
    nlp = pipelines[pipeline]
    examples = make_ner_examples(nlp) if pipeline == "ner" else textcat_examples(nlp)
    scores = nlp.evaluate(examples)
    key = "ents_f" if pipeline == "ner" else "cats_score"
    assert 0.0 <= scores[key] <= 1.0


# ---------------------------------------------------------------------------------------------
# 4. Processes and threads

CHILD = textwrap.dedent(
    """
    import json, os, sys
    import spacy, torch
    from spacy.language import Language
    from scripts.robustness import battery_cases, doc_signature
    from spacy_ru_nn import one_torch_thread_in_workers

    @Language.component("torch_threads_probe")
    def probe(doc):
        doc.user_data["torch_threads"] = torch.get_num_threads()
        doc.user_data["pid"] = os.getpid()
        return doc

    # The parent runs torch on two threads before forking: the case that used to hang.
    torch.set_num_threads(2)
    texts = list(battery_cases(with_huge=False).values()) * 3 + json.loads(sys.argv[1])
    out = {}
    for path in sys.argv[2:]:
        nlp = spacy.load(path)
        nlp.add_pipe("torch_threads_probe")
        single = [doc_signature(doc) for doc in nlp.pipe(texts, batch_size=4)]
        with one_torch_thread_in_workers():
            docs = list(nlp.pipe(texts, batch_size=4, n_process=2))
        assert torch.get_num_threads() == 2
        out[path] = {
            "same": [doc_signature(doc) for doc in docs] == single,
            "n": len(docs),
            "threads": sorted({doc.user_data["torch_threads"] for doc in docs}),
            "workers": len({doc.user_data["pid"] for doc in docs} - {os.getpid()}),
        }
    print(json.dumps(out))
    """
)


def run_child(args, timeout, **kwargs):
    """Run a command in its own process group; on timeout kill the group (forked workers
    included) and fail: a hang is the bug this guards against."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, **kwargs)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"{' '.join(map(str, args[:4]))} ... hung for {timeout} s")
    return subprocess.CompletedProcess(args, proc.returncode, stdout, stderr)


def test_two_processes_same_results_one_thread_each_no_hang(saved):
    paths = [str(saved["ner"]), str(saved["textcat"])]
    result = run_child([sys.executable, "-c", CHILD, json.dumps(ORDINARY * 3), *paths], timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    for path in paths:
        assert out[path]["same"], path
        assert out[path]["n"] == len(SHORT_CASES) * 3 + len(ORDINARY) * 3
        assert out[path]["threads"] == [1]
        assert out[path]["workers"] == 2


@pytest.mark.parametrize("pipeline", ["ner", "textcat"])
def test_spacy_apply_with_two_processes(saved, pipelines, tmp_path, pipeline):
    texts = list(SHORT_CASES.values()) + ORDINARY
    data = tmp_path / "texts.jsonl"
    srsly.write_jsonl(data, [{"text": t} for t in texts])
    output = tmp_path / "out.spacy"
    # `spacy apply` forks after loading, which runs torch (initialising the modules' weights)
    # on all threads: one OpenMP thread from the start keeps its workers from hanging.
    result = run_child(
        [sys.executable, "-m", "spacy", "apply", str(saved[pipeline]), str(data), str(output),
         "--n-process", "2", "--batch-size", "3"],
        timeout=240, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    nlp = pipelines[pipeline]
    docs = list(DocBin().from_disk(output).get_docs(nlp.vocab))
    expected = [doc_signature(doc) for doc in nlp.pipe(texts)]
    assert sorted(doc_signature(doc) for doc in docs) == sorted(expected)
    by_text = {doc.text: doc_signature(doc) for doc in docs}
    assert all(by_text[doc.text] == doc_signature(doc) for doc in nlp.pipe(texts))


def test_benchmark_processes_command(saved, tmp_path):
    texts = tmp_path / "texts.spacy"
    nlp = spacy.blank("ru")
    DocBin(docs=[nlp.make_doc(t) for t in ORDINARY]).to_disk(texts)
    result = CliRunner().invoke(
        app,
        ["benchmark-processes", str(saved["textcat"]), str(texts), "--n-texts", "300", "--no-battery", "--no-memory"],
    )
    assert result.exit_code == 0, result.output
    assert "All runs valid and identical" in result.output
    rows = [line.split() for line in result.output.splitlines() if line.strip()[:1] in ("1", "2")]
    assert [row[0] for row in rows] == ["1", "2"] and all(row[4] == "yes" for row in rows)


@pytest.mark.slow
@pytest.mark.parametrize("pipeline", ["ner", "textcat"])
def test_ten_thousand_texts_with_the_battery_in_one_and_two_processes(saved, tmp_path, pipeline):
    texts = tmp_path / "texts.spacy"
    nlp = spacy.blank("ru")
    DocBin(docs=[nlp.make_doc(t) for t in ORDINARY]).to_disk(texts)
    # A research command: `python -m scripts` from the project's root.
    result = run_child(
        [sys.executable, "-m", "scripts", "benchmark-processes", str(saved[pipeline]), str(texts)], timeout=1200,
        cwd=Path(__file__).parent.parent,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "All runs valid and identical" in result.stdout


# ---------------------------------------------------------------------------------------------
# 5. Determinism


def _ner_run():
    fix_random_seed(0)
    nlp = spacy.blank("ru")
    examples = make_ner_examples(nlp)
    nlp.add_pipe("bilstm_ner", config={"model": SMALL_NER_MODEL})
    optimizer = nlp.initialize(lambda: examples)
    losses = [nlp.update(examples, sgd=optimizer, drop=0.5)["bilstm_ner"] for _ in range(4)]
    scores = nlp.evaluate(make_ner_examples(nlp))
    predictions = [doc_signature(doc) for doc in nlp.pipe(ORDINARY)]
    return losses, scores, predictions, nlp.get_pipe("bilstm_ner").model.to_bytes()


def _textcat_run():
    fix_random_seed(0)
    nlp, losses = train_textcat(steps=4, drop=0.5)
    scores = nlp.evaluate(textcat_examples(nlp))
    predictions = [doc_signature(doc) for doc in nlp.pipe(ORDINARY)]
    return losses, scores, predictions, nlp.get_pipe("nn_textcat").model.to_bytes()


@pytest.mark.parametrize("run", [_ner_run, _textcat_run], ids=["ner", "textcat"])
def test_training_twice_with_the_same_seed_is_identical(run):
    first, second = run(), run()
    losses, scores, predictions, weights = first
    assert len(set(losses)) > 1  # the runs really trained
    assert losses == second[0]
    for key in ("ents_f", "ents_p", "ents_r", "cats_score", "cats_macro_auc"):
        if key in scores:
            assert scores[key] == second[1][key], key
    assert predictions == second[2]
    assert weights == second[3]


@pytest.mark.parametrize("pipeline", ["ner", "textcat"])
def test_inference_does_not_depend_on_batch_size(pipelines, pipeline):
    nlp = pipelines[pipeline]
    texts = [t for pair in zip(ORDINARY * 3, list(SHORT_CASES.values()) * 3) for t in pair]
    results = {size: [doc_signature(doc) for doc in nlp.pipe(texts, batch_size=size)] for size in (1, 7, 1000)}
    assert results[1] == results[7] == results[1000]
    assert [doc_signature(nlp(t)) for t in texts[:10]] == results[1][:10]


# ---------------------------------------------------------------------------------------------
# 6. GPU: needs CUDA (and cupy for spaCy's require_gpu); skipped otherwise

GPU_CHILD = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[1])
    import spacy, torch
    from thinc.api import fix_random_seed, set_gpu_allocator
    set_gpu_allocator("pytorch")
    spacy.require_gpu()
    from conftest import SMALL_NER_MODEL, make_ner_examples
    from test_robustness import ORDINARY, TEXTCAT_MODEL, textcat_examples
    from spacy.lang.en import English
    from scripts.robustness import battery_cases, doc_problems, doc_signature
    out = {}
    fix_random_seed(0)
    for name in ("ner", "textcat"):
        nlp = spacy.blank("ru") if name == "ner" else English()
        if name == "ner":
            nlp.add_pipe("bilstm_ner", config={"model": SMALL_NER_MODEL})
            examples = make_ner_examples(nlp)
        else:
            nlp.add_pipe("nn_textcat", config={"model": TEXTCAT_MODEL})
            examples = textcat_examples(nlp)
        optimizer = nlp.initialize(lambda: examples)
        optimizer.learn_rate = 0.01
        losses = [nlp.update(examples, sgd=optimizer, drop=0.0)[nlp.pipe_names[0]] for _ in range(60)]
        texts = list(battery_cases().values()) + ORDINARY
        docs = list(nlp.pipe(texts, batch_size=8))
        pipe = nlp.get_pipe(nlp.pipe_names[0])
        modules = [getattr(shim, "_model", None) for node in pipe.model.walk() for shim in node.shims]
        devices = sorted({p.device.type for m in modules if m is not None for p in m.parameters()})
        out[name] = {
            "devices": devices,
            "loss_first": losses[0], "loss_last": losses[-1],
            "problems": sum(len(doc_problems(d)) for d in docs),
            "same_alone": [doc_signature(nlp(t)) for t in texts[:12]] == [doc_signature(d) for d in docs[:12]],
            "score": nlp.evaluate(examples)["ents_f" if name == "ner" else "cats_score"],
        }
    print(json.dumps(out))
    """
)


@pytest.mark.gpu
def test_train_and_predict_on_gpu():
    pytest.importorskip("cupy")
    tests_dir = str(Path(__file__).parent)
    result = subprocess.run(
        [sys.executable, "-c", GPU_CHILD, tests_dir], capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": tests_dir},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    for name in ("ner", "textcat"):
        assert out[name]["devices"] == ["cuda"], name
        assert out[name]["loss_last"] < out[name]["loss_first"], name
        assert out[name]["problems"] == 0
        assert out[name]["same_alone"]
        assert out[name]["score"] > 0.5


@pytest.mark.gpu
def test_cuda_device_is_visible_to_torch():
    assert torch.cuda.is_available()
    assert torch.zeros(1, device="cuda").device.type == "cuda"
