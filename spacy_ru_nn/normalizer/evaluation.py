"""What `evaluate-normal` runs: entity normal forms against factRuEval's gold ones, at gold bounds and
end to end, beside the baselines, and the pipeline's speed with and without the normaliser."""
import json
import statistics
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import spacy
import torch
from spacy.language import Language
from spacy.tokens import Doc
from wasabi import msg

from ..corpora.factru import convert_folder
from .component import EntityNormalizer
from .rules import Morphology
from .scoring import TABLE_HEADER, accuracy, as_written, lemma_per_word, table_rows
from ..tables import markdown_table
from ..tokenizer import RazdelTokenizer

Key = Tuple[str, int, int, str]  # document id, start and end character, label


def evaluate_normal_forms(
    source: Path,
    model: Optional[str] = None,
    output: Optional[Path] = None,
    mentions: Optional[Path] = None,
    references: Sequence[str] = (),
    repeats: int = 3,
    batch_size: int = 64,
) -> Dict:
    """Score `span._.normal` against factRuEval's gold normal forms of the documents in `source`
    (see `python -m spacy_ru_nn evaluate-normal --help`), print the tables and return the
    metrics, also written to `output` with a .md table beside it."""
    torch.set_num_threads(1)
    nlp = spacy.load(model) if model else _blank_pipeline()
    normalizer = _normalizer(nlp)
    docs, _ = convert_folder(nlp, source)
    gold = {
        (doc.user_data["factru_id"], start, end, label): normal
        for doc in docs
        for start, end, label, normal in doc.user_data["factru_normals"]
    }
    msg.info(f"{len(gold)} mentions with a gold normal form in {len(docs)} documents")
    morph = Morphology()
    methods: Dict[str, Dict[Key, Tuple[str, str]]] = {"as written": {}, "pymorphy3 lemma per word": {}, "entity_normalizer": {}}
    for doc in docs:
        # The component on the gold entities, as it runs after an NER: it sees the whole doc.
        normalizer(doc)
        for start, end, label, _ in doc.user_data["factru_normals"]:
            span = doc.char_span(start, end, label=label, alignment_mode="expand")
            key = (doc.user_data["factru_id"], start, end, label)
            methods["as written"][key] = (span.text, as_written(span))
            methods["pymorphy3 lemma per word"][key] = (span.text, lemma_per_word(span, morph))
            methods["entity_normalizer"][key] = (span.text, span._.normal)
    for reference in references:
        name, _, path = reference.partition("=")
        methods[name] = _read_reference(Path(path), methods["as written"])
    scores = {name: accuracy((key[3], text, predicted, gold[key]) for key, (text, predicted) in outputs.items()) for name, outputs in methods.items()}
    result: Dict = {"source": str(source), "gold_bounds": scores, "normalizer_speed": _normalizer_speed(normalizer, docs, repeats)}
    if model:
        result["end_to_end"], result["speed"] = _end_to_end(nlp, docs, gold, normalizer.name, repeats, batch_size)
        scores_e2e = {"entity_normalizer, predicted entities at gold bounds": result["end_to_end"]["scores"]}
    msg.divider("Gold bounds")
    msg.table(table_rows(scores), header=TABLE_HEADER, divider=True)
    markdown = "Gold bounds\n\n" + markdown_table(TABLE_HEADER, table_rows(scores))
    alone = result["normalizer_speed"]
    line = (
        f"The normaliser alone on the gold entities, caches cold: {alone['words_per_second']} words/s, "
        f"{alone['entities_per_second']} entities/s"
    )
    msg.info(line)
    markdown += f"\n{line} (median of {repeats} runs)\n"
    if model:
        msg.divider("End to end")
        msg.table(table_rows(scores_e2e), header=TABLE_HEADER, divider=True)
        msg.info(result["end_to_end"]["coverage"])
        speed = result["speed"]
        msg.info(
            f"words/s: {speed['with_normalizer']} with the normaliser (caches warm), {speed['without_normalizer']} without; "
            f"the normaliser takes {speed['cost']:.1%} of the pipeline's time with its caches warm and "
            f"{speed['cost_first_pass']:.1%} on a first pass with them empty (its own time on the pipeline's docs)"
        )
        markdown += "\nEnd to end\n\n" + markdown_table(TABLE_HEADER, table_rows(scores_e2e))
        markdown += f"\n{result['end_to_end']['coverage']}\n"
        markdown += (
            f"\nSpeed (median of {repeats} interleaved runs): {speed['with_normalizer']} words/s with the normaliser "
            f"(caches warm), {speed['without_normalizer']} without; the normaliser takes {speed['cost']:.1%} of the "
            f"pipeline's time with its caches warm, {speed['cost_first_pass']:.1%} on a first pass with them empty "
            "(its own time on the docs of each run without it, median)\n"
        )
    if mentions is not None:
        _write_mentions(mentions, docs)
        msg.good(f"Mentions for other normalisers -> {mentions}")
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf8")
        output.with_suffix(".md").write_text(markdown, encoding="utf8")
        msg.good(f"Saved metrics to {output} and {output.with_suffix('.md')}")
    return result


def _blank_pipeline() -> Language:
    nlp = spacy.blank("ru")
    nlp.tokenizer = RazdelTokenizer(nlp.vocab)
    nlp.add_pipe("entity_normalizer")
    return nlp


def _normalizer(nlp: Language) -> EntityNormalizer:
    """The pipeline's normaliser; one with the default settings appended to a pipeline trained
    without it, so that pipelines trained before it existed can be scored too."""
    for _, component in nlp.pipeline:
        if isinstance(component, EntityNormalizer):
            return component
    msg.warn("The pipeline has no entity_normalizer: adding one with the default settings")
    return nlp.add_pipe("entity_normalizer")


def _read_reference(path: Path, written: Dict[Key, Tuple[str, str]]) -> Dict[Key, Tuple[str, str]]:
    """Another normaliser's output on the same mentions; a mention it skipped counts as wrong."""
    found: Dict[Key, str] = {}
    for line in path.read_text(encoding="utf8").splitlines():
        record = json.loads(line)
        found[(record["doc_id"], record["start"], record["end"], record["label"])] = record["normal"] or ""
    return {key: (text, found.get(key, "")) for key, (text, _) in written.items()}


def _write_mentions(path: Path, docs: List[Doc]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf8") as out:
        for doc in docs:
            record = {"doc_id": doc.user_data["factru_id"], "text": doc.text, "mentions": doc.user_data["factru_normals"]}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def _normalizer_speed(normalizer: EntityNormalizer, docs: List[Doc], repeats: int) -> Dict[str, float]:
    """Words/s and entities/s of the normaliser alone, on documents with their gold entities,
    each run from empty caches (a fresh copy of the component), so the corpus's repeated
    names are not normalised for free from an earlier run."""
    n_words = sum(len(doc) for doc in docs)
    n_ents = sum(len(doc.ents) for doc in docs)
    seconds = []
    for _ in range(max(1, repeats)):
        fresh = EntityNormalizer(
            normalizer.name,
            labels=normalizer.normalized_labels,
            person_labels=normalizer.person_labels,
            spans_key=normalizer.spans_key,
            weights=normalizer.weights,
        )
        start = time.perf_counter()
        for doc in docs:
            fresh(doc)
        seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds)
    return {"words_per_second": round(n_words / median, 1), "entities_per_second": round(n_ents / median, 1)}


def _end_to_end(
    nlp: Language, docs: List[Doc], gold: Dict[Key, str], normalizer: str, repeats: int, batch_size: int
) -> Tuple[Dict, Dict]:
    """The predicted entities that match a gold mention's bounds and label, and words/s."""
    texts = [doc.text for doc in docs]
    ids = [doc.user_data["factru_id"] for doc in docs]
    results = []
    predicted = list(nlp.pipe(texts, batch_size=batch_size))
    for doc_id, doc in zip(ids, predicted):
        for ent in doc.ents:
            key = (doc_id, ent.start_char, ent.end_char, ent.label_)
            if key in gold:
                results.append((ent.label_, ent.text, ent._.normal, gold[key]))
    coverage = f"{len(results)} of {len(gold)} gold mentions found by the pipeline with the same bounds and label"
    n_words = sum(len(doc) for doc in predicted)
    timings: Dict[str, List[float]] = {"with_normalizer": [], "without_normalizer": []}
    shares: Dict[str, List[float]] = {"cost": [], "cost_first_pass": []}
    component = nlp.get_pipe(normalizer)
    for _ in range(repeats):
        for setting in timings:
            disabled = [normalizer] if setting == "without_normalizer" else []
            with nlp.select_pipes(disable=disabled):
                start = time.perf_counter()
                processed = list(nlp.pipe(texts, batch_size=batch_size))
                seconds = time.perf_counter() - start
                timings[setting].append(n_words / seconds)
        # The normaliser's own time on the docs the rest of the pipeline just made, against
        # that pipeline's time: the share of a run it adds, measured within a second or two,
        # which the machine's noise from run to run does not swamp. Its caches are warm here
        # (the accuracy pass filled them), as in a long job that keeps meeting its frequent
        # names; then empty, as for the first pass of a fresh pipeline over unseen text.
        for share, clear in (("cost", False), ("cost_first_pass", True)):
            if clear:
                component.clear_caches()
            start = time.perf_counter()
            for doc in processed:
                component(doc)
            own = time.perf_counter() - start
            shares[share].append(own / (own + seconds))
    speed: Dict = {setting: round(statistics.median(values), 1) for setting, values in timings.items()}
    speed["words"] = n_words
    speed.update({share: round(statistics.median(values), 4) for share, values in shares.items()})
    return {"scores": accuracy(results), "coverage": coverage, "matched": len(results), "gold": len(gold)}, speed
