"""`annotate`: every record of a corpus with good and bad lines ends up in exactly one shard row
or errors-file row, with the same rows whatever the engine, worker count or batch size; runs
killed midway resume, and a killed parent leaves no worker behind; Ray runs on a local
instance started here, with Ray's default token auth (tests/test_annotate_cluster.py: a
token-protected two-node cluster)."""
import errno
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
import spacy
from spacy.language import Language
from spacy.training import Example
from thinc.api import fix_random_seed
from typer.testing import CliRunner

from conftest import HAM, RU_SENTENCES, SMALL_NER_MODEL, SPAM
from test_textcat import SMALL_MODEL as SMALL_TEXTCAT_MODEL
from spacy_ru_nn.annotate import InputError, ManifestMismatch, annotate_corpus
from spacy_ru_nn.annotate.inputs import list_input_files, plan_units, read_unit
from spacy_ru_nn.cli import app

GOOD_TEXTS = [text for text, _ in RU_SENTENCES] + SPAM + HAM
# Ray's environment for every Ray process of the tests: no telemetry. Token auth is set where
# Ray is started: a local instance's default (on), a test cluster's RAY_AUTH_MODE=token.
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0"}
# Loopback addresses only. A local instance takes the machine's routable address unless Ray's
# single-machine mode (its Windows/macOS default) is on. A cluster's nodes cannot use that mode,
# and Ray replaces the literal "127.0.0.1" of `--node-ip-address` and `--address` by the
# routable address: the head listens on 127.0.0.2 instead, and a node that joins it takes
# 127.0.0.1, the source address of loopback traffic.
RAY_LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
HEAD_IP = "127.0.0.2"


@pytest.fixture(scope="module")
def pipeline_dir(tmp_path_factory) -> Path:
    """A Russian pipeline that sets both `ents` (bilstm_ner) and `cats` (nn_textcat), saved to
    disk: the engines load it by path, as users do."""
    fix_random_seed(0)
    nlp = spacy.blank("ru")
    nlp.add_pipe("bilstm_ner", config={"model": SMALL_NER_MODEL})
    nlp.add_pipe("nn_textcat", config={"model": SMALL_TEXTCAT_MODEL})
    examples = []
    for text, ents in RU_SENTENCES:
        doc = nlp.make_doc(text)
        spans = [(doc[s:e].start_char, doc[s:e].end_char, label) for s, e, label in ents]
        examples.append(Example.from_dict(doc, {"entities": spans, "cats": {"ham": 1.0, "spam": 0.0}}))
    for texts, label in ((SPAM, "spam"), (HAM, "ham")):
        for text in texts:
            cats = {"ham": float(label == "ham"), "spam": float(label == "spam")}
            examples.append(Example.from_dict(nlp.make_doc(text), {"entities": [], "cats": cats}))
    optimizer = nlp.initialize(lambda: examples)
    nlp.get_pipe("nn_textcat").cfg["positive_label"] = "spam"
    optimizer.learn_rate = 0.01
    for _ in range(40):
        nlp.update(examples, sgd=optimizer, drop=0.0)
    path = tmp_path_factory.mktemp("annotate") / "pipeline"
    nlp.to_disk(path)
    return path


def write_corpus(folder: Path, n_good: int = 60) -> Dict[Tuple[str, int], str]:
    """A folder with a .txt, a .jsonl and a two-row-group .parquet file, good records among
    bad ones. RETURNS: (file, line) -> the kind of rejection, or "" for a good record."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    expected: Dict[Tuple[str, int], str] = {}
    texts = [GOOD_TEXTS[i % len(GOOD_TEXTS)] for i in range(n_good)]
    # .txt: one text per line; a CRLF line is a text; an empty or blank line is rejected as in
    # .jsonl; no final newline.
    lines: List[bytes] = [text.encode("utf8") for text in texts]
    lines[3] = b"Windows line\r"
    lines[5] = b""
    lines[9] = b" \t\r"
    lines.insert(7, "Пушкин ".encode("utf8") + b"\xff")
    lines.insert(11, ("а" * 1_000_001).encode("utf8"))
    (folder / "a.txt").write_bytes(b"\n".join(lines))
    for i, line in enumerate(lines, start=1):
        expected[("a.txt", i)] = {6: "blank line", 7 + 1: "not UTF-8", 10 + 1: "blank line", 11 + 1: "too long"}.get(i, "")
    # .jsonl: extra fields kept; every kind of bad line.
    bad_jsonl = {2: (b'{"id": 2, "text": ', "invalid JSON"), 4: (b'{"id": 4, "text": 5}', "text not a string"),
                 6: (b'{"id": 6}', "no text"), 8: (b"[1, 2]", "not a JSON object"), 10: (b"", "blank line"),
                 12: (b'{"id": 12, "text": null}', "no text"), 14: (b"  ", "blank line"),
                 16: (b'{"id": 16, "text": " \\n"}', "blank text")}
    jsonl = []
    for i, text in enumerate(texts, start=1):
        line, kind = bad_jsonl.get(i, (None, ""))
        if line is None:
            line = json.dumps({"id": i, "text": text, "meta": {"source": "test", "n": i}}, ensure_ascii=False).encode("utf8")
        jsonl.append(line)
        expected[("b.jsonl", i)] = kind
    (folder / "b.jsonl").write_bytes(b"\n".join(jsonl) + b"\n")
    # .parquet: two row groups, a null text and an empty one.
    bad_parquet = {3: (None, "no text"), 25: ("", "blank text")}
    rows = [{"id": i, "text": bad_parquet.get(i, (text,))[0]} for i, text in enumerate(texts[:30], start=1)]
    pq.write_table(pa.Table.from_pylist(rows), folder / "c.parquet", row_group_size=20)
    for i in range(1, 31):
        expected[("c.parquet", i)] = bad_parquet.get(i, (None, ""))[1]
    (folder / "notes.md").write_text("not an input\n")
    return expected


def read_output(output: Path) -> Tuple[List[dict], List[dict]]:
    """Rows of every shard (JSONL or Parquet) and of the errors file."""
    import pyarrow.parquet as pq

    rows: List[dict] = []
    for shard in sorted(output.glob("part-*")):
        if shard.suffix == ".jsonl":
            rows += [json.loads(line) for line in shard.read_text(encoding="utf8").splitlines()]
        else:
            for row in pq.read_table(shard).to_pylist():
                row["cats"] = dict(row["cats"])
                # A struct field is never absent in Parquet: an entity without a normal form reads as None.
                row["ents"] = [{k: v for k, v in ent.items() if v is not None} for ent in row["ents"]]
                rows.append({key: value for key, value in row.items() if value is not None})
    errors_file = output / "_errors.jsonl"
    errors = [json.loads(line) for line in errors_file.read_text(encoding="utf8").splitlines()] if errors_file.exists() else []
    return rows, errors


def assert_every_record_once(output: Path, expected: Dict[Tuple[str, int], str]) -> List[dict]:
    rows, errors = read_output(output)
    written = [(row["_file"], row["_line"]) for row in rows]
    rejected = [(error["file"], error["line"]) for error in errors]
    assert len(set(written)) == len(written), "a record was written twice"
    assert len(set(rejected)) == len(rejected), "a record was rejected twice"
    assert sorted(written + rejected) == sorted(expected)
    assert {key for key, kind in expected.items() if not kind} == set(written)
    for error in errors:
        assert error["reason"].startswith(expected[(error["file"], error["line"])] + ": "), error
    summary = json.loads((output / "_summary.json").read_text())
    assert summary["records"] == len(expected) == summary["written"] + summary["rejected"]
    assert summary["written"] == len(rows) and summary["rejected"] == len(errors)
    assert not list(output.glob(".*.tmp")) and not (output / "_errors").exists()
    # Scores to float32 precision: the last bit of a float32 matmul depends on the batch.
    for row in rows:
        row["cats"] = {label: round(score, 6) for label, score in row["cats"].items()}
    return sorted(rows, key=lambda row: (row["_file"], row["_line"]))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Tuple[Path, Dict[Tuple[str, int], str]]:
    folder = tmp_path_factory.mktemp("corpus") / "in"
    return folder, write_corpus(folder)


@pytest.fixture(scope="module")
def local_rows(pipeline_dir, corpus, tmp_path_factory) -> List[dict]:
    folder, expected = corpus
    output = tmp_path_factory.mktemp("local") / "out"
    annotate_corpus(str(pipeline_dir), folder, output, shard_size=7, progress=False)
    return assert_every_record_once(output, expected)


# ---------------------------------------------------------------------------------------------
# Reading: units and records


def test_units_cut_at_newlines_and_count_like_wc(tmp_path):
    path = tmp_path / "t.txt"
    for data in (b"", b"\n", b"a", b"a\n", b"a\nb", b"a\nb\n", b"a\n\nb\r\nc\n" * 7, b"\n" * 10):
        path.write_bytes(data)
        for shard_size in (1, 2, 3, 100):
            files, _ = list_input_files(path)
            units, unreadable = plan_units(files, shard_size)
            assert not unreadable
            n_lines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
            assert sum(unit.n_records for unit in units) == n_lines
            assert all(unit.n_records <= shard_size for unit in units)
            texts, lines = [], []
            blank = []
            for unit in units:
                records, rejected = read_unit(unit, "text", 1000)
                assert len(records) + len(rejected) == unit.n_records
                assert all(error["reason"] == "blank line: empty" for error in rejected)
                texts += [record.text for record in records]
                lines += [record.line for record in records]
                blank += [error["line"] for error in rejected]
            expected = [line.rstrip("\r") for line in data.decode().split("\n")][:n_lines]
            assert sorted(lines + blank) == list(range(1, n_lines + 1))
            assert texts == [text for text in expected if text]
            assert blank == [i for i, text in enumerate(expected, start=1) if not text]


def test_a_bom_is_not_part_of_the_first_text(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffПервая\nВторая\n".encode("utf8"))
    files, _ = list_input_files(path)
    units, _ = plan_units(files, 1)
    assert [read_unit(unit, "text", 100)[0][0].text for unit in units] == ["Первая", "Вторая"]


def test_bad_inputs_are_clear_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        list_input_files(tmp_path / "missing")
    (tmp_path / "a.csv").write_text("text\n")
    with pytest.raises(InputError, match="not a .txt, .jsonl or .parquet"):
        list_input_files(tmp_path / "a.csv")
    with pytest.raises(InputError, match="holds no .txt, .jsonl or .parquet"):
        list_input_files(tmp_path)


def test_the_docs_list_every_rejection_reason():
    from spacy_ru_nn.annotate import REJECTIONS

    docs = (Path(__file__).parent.parent / "docs" / "annotate.md").read_text(encoding="utf8")
    table = re.findall(r"^\| `([^`]+)` \| ", docs, re.M)
    assert table == list(REJECTIONS)


def test_every_annotate_option_says_what_it_does():
    import typer.main

    command = typer.main.get_command(app).commands["annotate"]
    for param in command.params:
        assert param.help, param.name
    result = CliRunner().invoke(app, ["annotate", "--help"], terminal_width=200)
    shown = " ".join(result.output.replace("│", " ").split())
    assert "every machine of the cluster must have the package installed or the folder at the same path" in shown
    assert "needs Ray: install spacy-ru-nn with its ray extra" in shown


# ---------------------------------------------------------------------------------------------
# The local engine


def test_local_run_accounts_for_every_record(local_rows, corpus):
    _, expected = corpus
    by_key = {(row["_file"], row["_line"]): row for row in local_rows}
    pushkin = by_key[("a.txt", 1)]
    assert pushkin["text"] == GOOD_TEXTS[0]
    assert {"start": 0, "end": 16, "label": "PER", "text": "Александр Пушкин"} in pushkin["ents"]
    assert set(pushkin["cats"]) == {"ham", "spam"} and abs(sum(pushkin["cats"].values()) - 1) < 1e-5
    assert by_key[("a.txt", 4)]["text"] == "Windows line"
    assert ("a.txt", 6) not in by_key and expected[("a.txt", 6)] == "blank line"
    # The input's fields are kept, nested ones included.
    assert by_key[("b.jsonl", 1)]["id"] == 1 and by_key[("b.jsonl", 1)]["meta"] == {"source": "test", "n": 1}
    assert by_key[("c.parquet", 30)]["id"] == 30
    spam_line = 1 + GOOD_TEXTS.index(SPAM[0])
    assert by_key[("b.jsonl", spam_line)]["cats"]["spam"] > 0.5


def test_same_rows_whatever_batch_size_processes_and_format(pipeline_dir, corpus, local_rows, tmp_path):
    folder, expected = corpus
    runs = {
        "batch 1": dict(batch_size=1),
        "2 processes, shard 5": dict(n_process=2, batch_size=3, shard_size=5),
        "parquet": dict(fmt="parquet", batch_size=1000),
    }
    for name, options in runs.items():
        output = tmp_path / name.replace(" ", "_").replace(",", "")
        annotate_corpus(str(pipeline_dir), folder, output, progress=False, **options)
        assert assert_every_record_once(output, expected) == local_rows, name


def test_parquet_shards_read_as_one_table(pipeline_dir, corpus, tmp_path):
    import pyarrow.parquet as pq

    folder, expected = corpus
    output = tmp_path / "out"
    # Shards of 2 lines: many hold no entity, which with inferred schemas breaks the folder.
    annotate_corpus(str(pipeline_dir), folder, output, fmt="parquet", shard_size=2, progress=False)
    table = pq.read_table(output)
    assert table.num_rows == sum(1 for kind in expected.values() if not kind)
    assert str(table.schema.field("ents").type) == (
        "list<element: struct<start: int32, end: int32, label: string, text: string, normal: string>>"
    )
    assert {"id", "text", "meta", "cats", "_file", "_line"} <= set(table.schema.names)


def test_a_rerun_of_a_complete_run_changes_nothing(pipeline_dir, corpus, tmp_path):
    folder, expected = corpus
    output = tmp_path / "out"
    first = annotate_corpus(str(pipeline_dir), folder, output, shard_size=7, progress=False)
    shards = {path.name: path.read_bytes() for path in output.iterdir() if path.is_file()}
    second = annotate_corpus(str(pipeline_dir), folder, output, shard_size=7, progress=False)
    assert {**second, "run": None} == {**first, "run": None}
    assert second["run"]["units"] == second["run"]["records"] == 0
    assert {path.name: path.read_bytes() for path in output.iterdir() if path.is_file()} == shards


def test_other_arguments_or_changed_inputs_are_refused(pipeline_dir, corpus, tmp_path):
    folder, _ = corpus
    output = tmp_path / "out"
    annotate_corpus(str(pipeline_dir), folder / "a.txt", output, shard_size=7, progress=False)
    with pytest.raises(ManifestMismatch, match="shard_size: 7 then, 8 now"):
        annotate_corpus(str(pipeline_dir), folder / "a.txt", output, shard_size=8, progress=False)
    copy = tmp_path / "a.txt"
    copy.write_bytes((folder / "a.txt").read_bytes())
    annotate_corpus(str(pipeline_dir), copy, tmp_path / "copy", progress=False)
    size = copy.stat().st_size
    copy.write_bytes(copy.read_bytes() + b"\nmore")
    with pytest.raises(ManifestMismatch, match=f"a.txt: size {size:,} -> {size + 5:,} bytes, modified "):
        annotate_corpus(str(pipeline_dir), copy, tmp_path / "copy", progress=False)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    with pytest.raises(ManifestMismatch, match="not empty"):
        annotate_corpus(str(pipeline_dir), copy, tmp_path / "full", progress=False)


def test_a_changed_input_is_named_with_what_changed(pipeline_dir, tmp_path):
    folder = tmp_path / "news"
    folder.mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        (folder / name).write_text("Мария Иванова\n", encoding="utf8")
    annotate_corpus(str(pipeline_dir), folder, tmp_path / "out", progress=False)
    (folder / "a.txt").unlink()
    (folder / "d.txt").write_text("Газпром\n", encoding="utf8")
    mtime = (folder / "b.txt").stat().st_mtime_ns
    os.utime(folder / "b.txt", ns=(mtime + 1000, mtime + 1000))  # the same size, touched
    with pytest.raises(ManifestMismatch) as refused:
        annotate_corpus(str(pipeline_dir), folder, tmp_path / "out", progress=False)
    message = str(refused.value)
    assert "a.txt: removed; b.txt: modified " in message and "; d.txt: added" in message
    assert "c.txt" not in message
    # A change within one second shows the digits that tell the times apart.
    then, now = message.split("b.txt: modified ")[1].split(";")[0].split(" -> ")
    assert then != now


def test_an_output_folder_inside_the_input_folder_is_not_input(pipeline_dir, tmp_path):
    (tmp_path / "in.txt").write_text("Газпром открыл офис в Новосибирске.\nМария Иванова\n", encoding="utf8")
    first = annotate_corpus(str(pipeline_dir), tmp_path, tmp_path / "out", shard_size=1, progress=False)
    (tmp_path / "out" / "_summary.json").unlink()  # as if killed before the end: resume
    second = annotate_corpus(str(pipeline_dir), tmp_path, tmp_path / "out", shard_size=1, progress=False)
    assert first["records"] == second["records"] == 2 and second["run"]["units"] == 0


def test_empty_input_says_so(pipeline_dir, tmp_path, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "empty.txt").write_bytes(b"")
    (tmp_path / "in" / "empty.jsonl").write_bytes(b"")
    summary = annotate_corpus(str(pipeline_dir), tmp_path / "in", tmp_path / "out", progress=False)
    assert summary["records"] == summary["written"] == summary["rejected"] == 0
    assert "INPUT has no records: 2 file(s), all empty" in capsys.readouterr().out


def test_an_unreadable_file_is_reported_and_the_rest_annotated(pipeline_dir, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "broken.parquet").write_bytes(b"not parquet at all")
    (tmp_path / "in" / "ok.txt").write_text("Газпром открыл офис в Новосибирске.\n", encoding="utf8")
    summary = annotate_corpus(str(pipeline_dir), tmp_path / "in", tmp_path / "out", progress=False)
    rows, errors = read_output(tmp_path / "out")
    assert [row["_file"] for row in rows] == ["ok.txt"]
    assert len(errors) == 1 and errors[0]["file"] == "broken.parquet" and errors[0]["line"] is None
    assert errors[0]["reason"].startswith("unreadable file: ")
    assert summary["unreadable_files"] == 1


@Language.component("fails_on_boom")
def fails_on_boom(doc):
    if "BOOM" in doc.text:
        raise ValueError("cannot annotate a BOOM")
    return doc


def test_a_record_the_pipeline_fails_on_is_rejected_alone(pipeline_dir, tmp_path):
    nlp = spacy.load(pipeline_dir)
    nlp.add_pipe("fails_on_boom", first=True)
    nlp.to_disk(tmp_path / "pipeline")
    texts = GOOD_TEXTS[:5] + ["a BOOM here"] + GOOD_TEXTS[5:9]
    (tmp_path / "in.txt").write_text("\n".join(texts) + "\n", encoding="utf8")
    for n_process in (1, 2):
        output = tmp_path / f"out{n_process}"
        summary = annotate_corpus(str(tmp_path / "pipeline"), tmp_path / "in.txt", output, shard_size=4,
                                  n_process=n_process, progress=False)
        rows, errors = read_output(output)
        assert [row["_line"] for row in rows] == [1, 2, 3, 4, 5, 7, 8, 9, 10]
        assert errors == [{"file": "in.txt", "line": 6, "reason": "pipeline error: ValueError: cannot annotate a BOOM"}]
        assert summary["reasons"] == {"pipeline error": 1}


# ---------------------------------------------------------------------------------------------
# The command, and resuming a run killed midway


def test_cli_prints_the_summary(pipeline_dir, corpus, tmp_path):
    folder, expected = corpus
    result = CliRunner().invoke(app, ["annotate", str(pipeline_dir), str(folder), str(tmp_path / "out"), "--no-progress"])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())  # wasabi wraps lines
    n_bad = sum(1 for kind in expected.values() if kind)
    assert f"{len(expected)} records read: {len(expected) - n_bad} written" in output
    assert f"{n_bad} rejected" in output
    assert "Skipping 1 file(s)" in output
    result = CliRunner().invoke(app, ["annotate", str(pipeline_dir), str(folder), str(tmp_path / "out"), "--shard-size", "3"])
    assert result.exit_code == 1 and "holds a run with other arguments" in " ".join(result.output.split())


LOCAL_ONLY = """
import sys
from importlib.abc import MetaPathFinder

class NoRay(MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("ray", "pyarrow"):
            raise ImportError(f"{name} is blocked: the local engine must not need it")

sys.meta_path.insert(0, NoRay())
from spacy_ru_nn.cli import app
app(sys.argv[1:], standalone_mode=False)
assert "ray" not in sys.modules and "pyarrow" not in sys.modules
"""


def test_local_engine_needs_neither_ray_nor_pyarrow(pipeline_dir, corpus, tmp_path):
    folder, _ = corpus
    args = ["annotate", str(pipeline_dir), str(folder / "b.jsonl"), str(tmp_path / "out"), "--no-progress"]
    result = subprocess.run([sys.executable, "-c", LOCAL_ONLY, *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "records read" in result.stdout


def big_corpus(path: Path, n_lines: int) -> Dict[Tuple[str, int], str]:
    """`n_lines` lines, every 50th not UTF-8."""
    lines = [b"\xff\xfe" if i % 50 == 0 else GOOD_TEXTS[i % len(GOOD_TEXTS)].encode("utf8") for i in range(1, n_lines + 1)]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return {(path.name, i): ("not UTF-8" if i % 50 == 0 else "") for i in range(1, n_lines + 1)}


def manifest_units(output: Path) -> List[dict]:
    path = output / "_manifest.jsonl"
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf8").split("\n")[1:-1]
    return [json.loads(line) for line in lines]


def kill_when_units_done(proc: subprocess.Popen, output: Path, n_units: int, timeout: float, kill,
                         describe=lambda: "") -> int:
    """Wait until `n_units` units are committed, then call `kill`; RETURNS units done then.
    `describe` adds what may explain a failure (logs) to its message."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = len(manifest_units(output))
        if done >= n_units:
            kill()
            return done
        if proc.poll() is not None:
            pytest.fail(f"the run ended (exit {proc.returncode}) before it could be interrupted{describe()}")
        time.sleep(0.02)
    pytest.fail(f"no {n_units} units committed within {timeout} s{describe()}")


def test_a_run_killed_midway_resumes_without_losing_or_doubling(pipeline_dir, tmp_path):
    expected = big_corpus(tmp_path / "big.txt", 3000)
    output = tmp_path / "out"
    command = [sys.executable, "-m", "spacy_ru_nn", "annotate", str(pipeline_dir), str(tmp_path / "big.txt"),
               str(output), "--shard-size", "50", "--no-progress"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        done = kill_when_units_done(proc, output, 2, 240, lambda: proc.send_signal(signal.SIGKILL))
    finally:
        proc.kill()
        proc.wait()
    assert done < 60, "the run finished before it was killed"
    assert not (output / "_summary.json").exists()
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Resuming:" in result.stdout
    assert_every_record_once(output, expected)
    assert len(manifest_units(output)) == 60


def child_pids(pid: int) -> List[int]:
    """The processes whose parent is `pid`, from /proc."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            children.append(int(stat.parent.name))
    return children


def alive(pid: int) -> bool:
    """Running: not gone, and not a zombie left for init to reap."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds processes in /proc")
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_run_stopped_midway_leaves_no_worker_and_resumes(pipeline_dir, tmp_path, signum):
    expected = big_corpus(tmp_path / "big.txt", 3000)
    output = tmp_path / "out"
    command = [sys.executable, "-m", "spacy_ru_nn", "annotate", str(pipeline_dir), str(tmp_path / "big.txt"),
               str(output), "--n-process", "2", "--shard-size", "50", "--no-progress"]
    workers: List[int] = []

    def stop() -> None:
        workers.extend(child_pids(proc.pid))
        proc.send_signal(signum)

    # Files, not pipes: a surviving worker would hold a pipe open.
    with open(tmp_path / "stdout", "w") as stdout, open(tmp_path / "stderr", "w") as stderr:
        proc = subprocess.Popen(command, stdout=stdout, stderr=stderr)
        try:
            done = kill_when_units_done(proc, output, 2, 240, stop)
            proc.wait(timeout=60)
        finally:
            proc.kill()
            proc.wait()
    assert done < 60, "the run finished before it was stopped"
    assert len(workers) == 2, workers
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = [pid for pid in workers if alive(pid)]
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert not survivors, "a worker outlived the run"
    if signum == signal.SIGTERM:
        assert proc.returncode == 128 + signal.SIGTERM
        lines = ((tmp_path / "stdout").read_text() + (tmp_path / "stderr").read_text()).strip().splitlines()
        assert len(lines) == 1 and "run the same command again to resume" in lines[0], lines
        # Only committed shards are left, and nothing half written.
        committed = {unit["unit"] for unit in manifest_units(output)}
        assert {path.name[len("part-"):-len(".jsonl")] for path in output.glob("part-*")} == committed
        assert not [path for path in output.rglob(".*")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert_every_record_once(output, expected)


def test_output_that_is_a_file_is_one_line(pipeline_dir, corpus, tmp_path):
    folder, _ = corpus
    (tmp_path / "out").write_text("")
    result = CliRunner().invoke(app, ["annotate", str(pipeline_dir), str(folder / "a.txt"), str(tmp_path / "out"), "--no-progress"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [f"\u2718 OUTPUT {tmp_path / 'out'} is a file: give a folder (a new one, "
                                                   "or that of an interrupted run)"]


def test_a_full_disk_is_one_line_and_loses_nothing(pipeline_dir, corpus, tmp_path, monkeypatch):
    from spacy_ru_nn.annotate import outputs

    folder, expected = corpus
    expected = {key: kind for key, kind in expected.items() if key[0] == "b.jsonl"}
    output = tmp_path / "out"
    write = outputs._atomic_write
    calls = []

    def full_after_three_files(path, write_to):
        calls.append(path)
        if len(calls) <= 3:
            return write(path, write_to)

        def half_then_full(f):
            f.write(b"half a shard")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

        return write(path, half_then_full)

    monkeypatch.setattr(outputs, "_atomic_write", full_after_three_files)
    args = ["annotate", str(pipeline_dir), str(folder / "b.jsonl"), str(output), "--no-progress", "--shard-size", "7"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("\u2718 No space left on device ("), lines
    assert "run the same command again to resume" in lines[0]
    assert not [path for path in output.rglob(".*")], "a temporary file was left"
    monkeypatch.setattr(outputs, "_atomic_write", write)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Resuming: " in result.output
    assert_every_record_once(output, expected)


def can_mount_tmpfs(path: Path) -> bool:
    path.mkdir(exist_ok=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(path)], capture_output=True).returncode:
        return False
    subprocess.run(["umount", str(path)], check=True)
    return True


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 256 KiB tmpfs (needs root, or a container allowed to mount), unmounted afterwards."""
    mount = tmp_path / "tmpfs"
    if shutil.which("mount") is None or not can_mount_tmpfs(mount):
        pytest.skip("cannot mount a tmpfs here")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


@pytest.mark.parametrize("problem", ["full", "read-only"])
def test_a_real_full_or_read_only_disk_is_one_line_and_loses_nothing(pipeline_dir, tmp_path, small_tmpfs, problem):
    expected = big_corpus(tmp_path / "big.txt", 3000)
    output = small_tmpfs / "out"
    if problem == "read-only":
        output.mkdir()
        subprocess.run(["mount", "-o", "remount,ro", str(small_tmpfs)], check=True)
    args = ["annotate", str(pipeline_dir), str(tmp_path / "big.txt"), str(output), "--no-progress", "--shard-size", "100"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    reason = "No space left on device" if problem == "full" else "Read-only file system"
    assert len(lines) == 1 and lines[0].startswith(f"\u2718 {reason} ("), lines
    # Fixed: more room, or writable again.
    subprocess.run(["mount", "-o", "remount,rw,size=64m", str(small_tmpfs)], check=True)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert_every_record_once(output, expected)


# ---------------------------------------------------------------------------------------------
# Ray: a local instance started by the test


def write_token(path: Path) -> Path:
    """A new Ray token (256 random bits, as `ray get-auth-token --generate` makes) in a file only
    its owner can read."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32) + "\n")
    return path


@pytest.fixture(scope="module")
def local_ray():
    """A local instance with Ray's default authentication: RAY_AUTH_MODE unset turns token auth
    on (Ray 2.59+). Its token is in a file of the test's, not the ~/.ray/auth_token that Ray
    would otherwise create for every later Ray process on the machine."""
    saved = dict(os.environ)
    # Read when ray is imported.
    os.environ.update({**RAY_ENV, **RAY_LOOPBACK})
    os.environ.pop("RAY_AUTH_MODE", None)
    os.environ.pop("RAY_AUTH_TOKEN", None)
    ray = pytest.importorskip("ray")
    from ray.data import DataContext

    # Unix socket paths are limited to 107 bytes: a short temp dir, not pytest's tmp_path.
    temp_dir = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    os.environ["RAY_AUTH_TOKEN_PATH"] = str(write_token(Path(temp_dir) / "token"))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _temp_dir=temp_dir)
    # Ray sets the mode it chose for the processes it starts: the test runs with auth on.
    assert os.environ.get("RAY_AUTH_MODE") == "token"
    # A hang fails the test instead of CI's job.
    DataContext.get_current().execution_no_progress_timeout_s = 120
    yield ray
    ray.shutdown()
    os.environ.clear()
    os.environ.update(saved)
    shutil.rmtree(temp_dir, ignore_errors=True)


@pytest.mark.parametrize("workers", [1, 2])
def test_ray_gives_the_same_rows_as_the_local_engine(local_ray, pipeline_dir, corpus, local_rows, tmp_path, workers):
    folder, expected = corpus
    output = tmp_path / "out"
    summary = annotate_corpus(str(pipeline_dir), folder, output, engine="ray", workers=workers, shard_size=7,
                              batch_size=5, progress=False, no_progress_timeout_s=120)
    assert assert_every_record_once(output, expected) == local_rows
    assert summary["run"]["workers_seen"] == workers
    assert local_ray.is_initialized(), "annotate must not shut down a Ray instance it did not start"


def test_ray_resumes_a_local_run(local_ray, pipeline_dir, tmp_path):
    expected = big_corpus(tmp_path / "big.txt", 1000)
    output = tmp_path / "out"
    command = [sys.executable, "-m", "spacy_ru_nn", "annotate", str(pipeline_dir), str(tmp_path / "big.txt"),
               str(output), "--shard-size", "50", "--batch-size", "1", "--no-progress"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        kill_when_units_done(proc, output, 1, 240, lambda: proc.send_signal(signal.SIGKILL))
    finally:
        proc.kill()
        proc.wait()
    annotate_corpus(str(pipeline_dir), tmp_path / "big.txt", output, shard_size=50, engine="ray", workers=2,
                    progress=False, no_progress_timeout_s=120)
    assert_every_record_once(output, expected)


def test_a_ray_run_prints_only_what_the_user_can_act_on(pipeline_dir, tmp_path):
    pytest.importorskip("ray")
    (tmp_path / "in.txt").write_text("\n".join(GOOD_TEXTS * 5) + "\n", encoding="utf8")
    command = [sys.executable, "-m", "spacy_ru_nn", "annotate", str(pipeline_dir), str(tmp_path / "in.txt"),
               str(tmp_path / "out"), "--engine", "ray", "--workers", "2", "--shard-size", "10", "--no-progress"]
    # Ray's default token auth, with a token of the test's rather than ~/.ray/auth_token.
    env = {**os.environ, **RAY_ENV, **RAY_LOOPBACK, "RAY_AUTH_TOKEN_PATH": str(write_token(tmp_path / "token"))}
    env.pop("RAY_AUTH_MODE", None)
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "records read" in result.stdout
    assert "Deprecat" not in result.stderr
    # C++ log lines ("[2026-12-02 13:38:30,566 E 19872 19872] core_worker.cc:...") and Ray's
    # Python INFO/WARNING lines ("2026-12-02 13:38:28,448\tINFO worker.py:2038 -- ...").
    assert not re.search(r"^\[\d{4}-\d\d-\d\d [\d:,.]+ [DIWEF] \d+ \d+\]", result.stderr, re.M), result.stderr
    assert not re.search(r"^\d{4}-\d\d-\d\d [\d:,.]+\s+(INFO|WARNING) ", result.stderr, re.M), result.stderr


# ---------------------------------------------------------------------------------------------
# benchmark-annotate's measurements


def test_benchmark_memory_sampler_sees_the_children(tmp_path):
    from scripts.benchmark_annotate import TreeMemorySampler, write_texts

    # A parent that forks a child holding 200 MiB: only a sampler of the whole tree sees it.
    script = "import os, time\nif os.fork() == 0:\n    b = bytearray(200 * 2**20)\n    time.sleep(2)\n    os._exit(0)\nos.wait()\n"
    proc = subprocess.Popen([sys.executable, "-c", script])
    with TreeMemorySampler(proc.pid, interval=0.05) as sampler:
        proc.wait()
    assert 200 * 2**20 < sampler.peak < 400 * 2**20
    path = write_texts(["один\n", " два "], 5, tmp_path / "texts.txt")
    assert path.read_text(encoding="utf8").split("\n") == ["один", "два", "один", "два", "один", ""]
