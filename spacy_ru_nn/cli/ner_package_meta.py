"""`ner-package-meta`: the NER package's meta.json with `performance` measured on the testset."""
import json
from pathlib import Path

import typer
from wasabi import msg

from ._app import app

PERFORMANCE_KEYS = ("ents_p", "ents_r", "ents_f", "ents_per_type")


@app.command("ner-package-meta")
def ner_package_meta(
    meta_path: Path = typer.Argument(
        ..., help="meta.json fields for the package: description, license, sources, ...", exists=True, dir_okay=False
    ),
    metrics_path: Path = typer.Argument(
        ..., help="evaluate-ner's metrics JSON on the testset", exists=True, dir_okay=False
    ),
    output: Path = typer.Option(..., "--output", "-o", help="The meta.json to pass to `spacy package --meta-path`"),
) -> None:
    """The package's meta with `performance` from the testset.

    `spacy train` records the scores of its dev documents, which for the final fit are part of
    its training data; a package should report what `evaluate-ner` measured on the testset.
    """
    meta = json.loads(meta_path.read_text(encoding="utf8"))
    metrics = json.loads(metrics_path.read_text(encoding="utf8"))
    entity = metrics.get("entity", {})
    missing = [key for key in PERFORMANCE_KEYS if key not in entity]
    if missing:
        msg.fail("No entity scores", f"{metrics_path} lacks {', '.join(missing)}: is it evaluate-ner's output?", exits=1)
    meta["performance"] = {key: entity[key] for key in PERFORMANCE_KEYS}
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf8")
    msg.good(f"Package meta with testset scores (entity F {entity['ents_f']:.3f}) -> {output}")
