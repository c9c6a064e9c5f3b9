"""`ablate-ner`: switch each feature of the NER model off in turn, train with the same
schedule as `train-ner`, score on the testset and print one table."""
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import typer
from wasabi import msg

from ._app import app
from .cv_ner import ONE_THREAD
from ._tables import markdown_table

# name, config overrides
VARIANTS: List[Tuple[str, Dict[str, str]]] = [
    ("full model", {}),
    ("- navec vectors", {"components.bilstm_ner.model.vectors": "null"}),
    ("- character CNN", {"components.bilstm_ner.model.char_filters": "0"}),
    ("- pymorphy3 grammemes", {"components.bilstm_ner.model.morphology": "false"}),
    ("- CRF (softmax per token)", {"components.bilstm_ner.model.crf": "false"}),
    ("IO tags instead of BIO", {"components.bilstm_ner.tag_scheme": '"IO"'}),
]


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")


@app.command("ablate-ner")
def ablate_ner(
    config: Path = typer.Argument(..., help="The NER training config"),
    corpus: Path = typer.Argument(..., help="Folder with devset.spacy, dev.spacy and test.spacy"),
    training_dir: Path = typer.Option(Path("training/ablation"), help="Where the variants are trained"),
    steps: int = typer.Option(1000, help="Training steps on the whole devset (as train-ner)"),
    seed: int = typer.Option(0, help="Training seed"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Markdown table"),
    reuse: bool = typer.Option(True, help="Reuse a variant already trained in training_dir"),
    jobs: int = typer.Option(1, help="Variants trained at once, one CPU thread each (timing runs one at a time)"),
) -> None:
    """Train every variant, evaluate it on the testset, and print one table."""

    def train(variant: Tuple[str, Dict[str, str]]) -> None:
        name, overrides = variant
        out_dir = training_dir / _slug(name)
        if reuse and (out_dir / "model-last").exists():
            return
        msg.info(f"Training '{name}'")
        cmd = [
            sys.executable, "-m", "spacy", "train", str(config), "--output", str(out_dir),
            "--paths.train", str(corpus / "devset.spacy"), "--paths.dev", str(corpus / "dev.spacy"),
            "--training.max_steps", str(steps), "--training.patience", "0",
            "--system.seed", str(seed),
        ]  # fmt: skip
        for key, value in overrides.items():
            cmd += [f"--{key}", value]
        subprocess.run(cmd, check=True, capture_output=True, env={**os.environ, **ONE_THREAD})

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(train, VARIANTS))
    rows = []
    for name, _ in VARIANTS:
        out_dir = training_dir / _slug(name)
        metrics_path = out_dir / "test_metrics.json"
        subprocess.run(
            [sys.executable, "-m", "spacy_ru_nn", "evaluate-ner", str(out_dir / "model-last"), str(corpus / "test.spacy"), "--output", str(metrics_path)],
            check=True,
            capture_output=True,
            env={**os.environ, **ONE_THREAD},
        )
        result = json.loads(metrics_path.read_text(encoding="utf8"))
        entity, token = result["entity"], result["token_io"]["per_type"]
        rows.append((
            name,
            f"{entity['ents_f']:.3f}",
            *(f"{token.get(label, {}).get('f', 0.0):.3f}" for label in ("PER", "LOC", "ORG")),
            f"{result['words_per_second']:,.0f}",
        ))  # fmt: skip
        msg.good(f"{name}: entity F1 {entity['ents_f']:.3f}")
    header = ("variant", "entity F", "IO F PER", "IO F LOC", "IO F ORG", "words/s")
    msg.table(rows, header=header, divider=True)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(markdown_table(header, rows), encoding="utf8")
        msg.good(f"Saved the table to {output}")
