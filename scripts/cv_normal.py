"""Cross-validation of the entity normaliser's weights on the factRuEval devset.

Each weight setting of a small grid normalises every devset mention with a gold normal form;
for each of k folds (by document) the setting that scores best on the other folds is scored
on the held-out fold. The table gives the held-out accuracy (mean ± sd over folds), the
settings chosen, and the configured defaults on the same folds; the setting best on the whole
devset is the one the configs should carry.

    python scripts/cv_normal.py ../shared/data/factRuEval-2016/devset --output metrics/normal_cv.json
"""
import itertools
import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import spacy
import typer

from spacy_ru_nn.corpora.factru import convert_folder, fold_documents
from spacy_ru_nn.normalizer.component import USER_DATA_KEY, EntityNormalizer
from spacy_ru_nn.normalizer.rules import Weights
from spacy_ru_nn.normalizer.scoring import LABELS, accuracy
from spacy_ru_nn.tables import markdown_table
from _stats import mean_sd
from spacy_ru_nn.tokenizer import RazdelTokenizer

GRID = {
    "nominative_prior": [0.0, 0.1, 0.2],
    "name_nominative_prior": [0.1, 0.3],
    "masculine_prior": [0.1, 0.2],
    "unknown_as_written": [0.6, 1.0],
    "context_bonus": [0.0, 0.5, 1.0],
    "consonant_stem": [0.3, 0.5],
}
# Not searched: `surname_paradigm` must, with the name bonus, outweigh a qualitative adjective
# pymorphy3 offers for a surname ("Карасиным" as "карасиный").
GROUPS = ("all",) + LABELS + ("inflected",)


def main(
    devset: Path = typer.Argument(..., exists=True, file_okay=False),
    n_folds: int = typer.Option(3),
    seed: int = typer.Option(0),
    output: Optional[Path] = typer.Option(None),
) -> None:
    nlp = spacy.blank("ru")
    nlp.tokenizer = RazdelTokenizer(nlp.vocab)
    docs, _ = convert_folder(nlp, devset)
    mentions = [
        (doc.user_data["factru_id"], doc.char_span(s, e, label=label, alignment_mode="expand"), gold)
        for doc in docs
        for s, e, label, gold in doc.user_data["factru_normals"]
    ]
    normalizer = EntityNormalizer()
    settings = [replace(Weights(), **dict(zip(GRID, values))) for values in itertools.product(*GRID.values())]
    defaults = Weights()
    if defaults not in settings:
        settings.append(defaults)
    outputs: Dict[Weights, List[Tuple[str, str, str, str]]] = {}
    for weights in settings:
        normalizer.weights = weights
        # Whole documents, as evaluate-normal and a pipeline run it: a one-word mention of
        # a person takes its reading from the document's other mentions.
        for doc in docs:
            doc.user_data.pop(USER_DATA_KEY, None)
            normalizer(doc)
        outputs[weights] = [(span.label_, span.text, span._.normal, gold) for _, span, gold in mentions]
    doc_ids = [m[0] for m in mentions]
    folds = []
    for _, held_out in fold_documents(docs, n_folds, seed):
        held = {doc.user_data["factru_id"] for doc in held_out}
        inside = [i for i, d in enumerate(doc_ids) if d in held]
        outside = [i for i, d in enumerate(doc_ids) if d not in held]

        def score(weights: Weights, index: List[int]) -> Dict:
            return accuracy(outputs[weights][i] for i in index)

        chosen = max(settings, key=lambda w: score(w, outside)["all"]["accuracy"])
        folds.append({"chosen": asdict(chosen), "held_out": score(chosen, inside), "defaults": score(defaults, inside)})
    everything = list(range(len(mentions)))
    # The grid lists each weight's values from the smallest: ties go to the smaller weights.
    best = max(settings, key=lambda w: accuracy(outputs[w][i] for i in everything)["all"]["accuracy"])
    rows = []
    for name in ("held_out", "defaults"):
        cells = [("chosen on the other folds" if name == "held_out" else "configured defaults")]
        for group in GROUPS:
            cells.append(mean_sd([fold[name][group]["accuracy"] for fold in folds]))
        rows.append(cells)
    table = markdown_table(("weights", *GROUPS), rows)
    print(table)
    for k, fold in enumerate(folds):
        print(f"fold {k}: chosen {fold['chosen']}")
    print(f"chosen on the whole devset (the configs' defaults should be these): {asdict(best)}")
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps({"folds": folds, "grid": GRID, "defaults": asdict(defaults), "best": asdict(best)}, indent=2), encoding="utf8")
        output.with_suffix(".md").write_text(table, encoding="utf8")


if __name__ == "__main__":
    typer.run(main)
