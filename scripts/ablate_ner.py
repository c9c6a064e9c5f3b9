"""`ablate-ner`: switch each feature of the NER model on or off in turn, train with the same
schedule as `train-ner`, score on the testset and print one table; the full model and the
devset-only model (no pretrained encoder) are also trained with more seeds, for their mean and
spread."""
import hashlib
import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import typer
from wasabi import msg

from ._app import app
from spacy_ru_nn.tables import markdown_table
from ._stats import mean_sd
from ._subprocess import evaluate_in_subprocess, one_thread_env, train_command

MODEL = "components.bilstm_ner.model"
EMBED, ENCODE, OUTPUT = f"{MODEL}.embed", f"{MODEL}.encode", f"{MODEL}.output"
# The license-clean pipeline, trained from its own config and for its own steps
# (--devset-config, --devset-steps), as `train-ner-devset` trains it.
DEVSET_ONLY = "devset only (ru_nn_ner_devset: no pretrained encoder)"
# name, config overrides (relative to configs/ner.cfg: slovnet's NER encoder fine-tuned, its
# hidden states and tag scores into the BiLSTM, the tag scores also skipping to the output layer)
VARIANTS: List[Tuple[str, Dict[str, Any]]] = [
    ("full model", {}),
    (DEVSET_ONLY, {}),
    ("slovnet NER encoder frozen", {f"{EMBED}.fine_tune_pretrained": False}),
    ("- tag scores skipping to the output layer", {f"{EMBED}.pretrained_skip": False}),
    ("slovnet NER encoder: hidden states only", {f"{EMBED}.pretrained_outputs": "hidden", f"{EMBED}.pretrained_skip": False}),
    ("slovnet NER encoder: tag scores only", {f"{EMBED}.pretrained_outputs": "scores"}),
    ("+ slovnet morphology encoder", {f"{EMBED}.pretrained": ["slovnet_ner", "slovnet_morph"]}),
    ("BiLSTM width 256", {f"{ENCODE}.width": 256}),
    ("- pymorphy3 grammemes", {f"{EMBED}.morphology": False}),
    ("- CRF (softmax per token)", {OUTPUT: {"@architectures": "spacy-ru-nn.SoftmaxTagOutput.v1"}}),
    ("- precomputed lexicon", {f"{EMBED}.lexicon": False}),
    ("IO tags instead of BIO", {"components.bilstm_ner.tag_scheme": "IO"}),
]
# Variants trained with every seed, for their mean and spread.
SEEDED = ("full model", DEVSET_ONLY)
LABELS = ("PER", "LOC", "ORG")


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")


def _seeds(value: str) -> List[int]:
    return [int(seed) for seed in value.split(",") if seed.strip()]


@app.command("ablate-ner")
def ablate_ner(
    config: Path = typer.Argument(..., help="The NER training config", exists=True, dir_okay=False),
    corpus: Path = typer.Argument(
        ..., help="Folder with devset.spacy, dev.spacy and test.spacy", exists=True, file_okay=False
    ),
    training_dir: Path = typer.Option(Path("training/ablation"), help="Where the variants are trained"),
    steps: int = typer.Option(1000, help="Training steps on the whole devset (as train-ner)"),
    seeds: str = typer.Option("0,1,2", help="Seeds of the full and the devset-only model; the other variants use the first"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Markdown table (and .json beside it)"),
    reuse: bool = typer.Option(
        True, help="Reuse a variant already trained in training_dir with the same config, data and command"
    ),
    jobs: int = typer.Option(1, help="Trainings at once, one CPU thread each (evaluation runs one at a time)"),
    devset_config: Path = typer.Option(
        Path("configs/ner_devset_only.cfg"), help="Config of the devset-only variant", exists=True, dir_okay=False
    ),
    devset_steps: Optional[int] = typer.Option(None, help="Training steps of the devset-only variant (default: --steps)"),
) -> None:
    """Train every variant, evaluate it on the testset, and print one table."""
    seed_list = _seeds(seeds)
    runs: List[Tuple[str, int, Dict[str, Any]]] = [(name, seed_list[0], overrides) for name, overrides in VARIANTS]
    runs += [(name, seed, overrides) for name, overrides in VARIANTS if name in SEEDED for seed in seed_list[1:]]

    def out_dir(name: str, seed: int) -> Path:
        return training_dir / (_slug(name) if seed == seed_list[0] else f"{_slug(name)}-seed{seed}")

    def train(run: Tuple[str, int, Dict[str, Any]]) -> None:
        name, seed, overrides = run
        directory = out_dir(name, seed)
        variant_config, variant_steps = config, steps
        if name == DEVSET_ONLY:
            variant_config, variant_steps = devset_config, devset_steps or steps
        cmd = train_command(
            variant_config, directory, corpus / "devset.spacy", corpus / "dev.spacy", variant_steps, {**overrides, "system.seed": seed}
        )
        recipe = training_recipe(cmd, variant_config, corpus / "devset.spacy")
        if reuse and (directory / "model-last").exists() and read_recipe(directory) == recipe:
            return
        msg.info(f"Training '{name}' (seed {seed})")
        subprocess.run(cmd, check=True, capture_output=True, env=one_thread_env())
        (directory / RECIPE_FILE).write_text(json.dumps(recipe, indent=2), encoding="utf8")

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(train, runs))
    results: Dict[str, Dict] = {}
    for name, seed, _ in runs:
        directory = out_dir(name, seed)
        key = f"{name} (seed {seed})"
        results[key] = evaluate_in_subprocess(directory / "model-last", corpus / "test.spacy", directory / "test_metrics.json")
        msg.good(f"{name}, seed {seed}: entity F1 {results[key]['entity']['ents_f']:.3f}")
    header = ("variant", "entity F", "IO F PER", "IO F LOC", "IO F ORG", "words/s")
    rows = [_row(name, [results[f"{name} (seed {seed_list[0]})"]]) for name, _ in VARIANTS]
    if len(seed_list) > 1:
        for name in SEEDED:
            seeded = [results[f"{name} (seed {seed})"] for seed in seed_list]
            rows.append(_row(f"{name}, seeds {', '.join(map(str, seed_list))}", seeded))
    msg.table(rows, header=header, divider=True)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(markdown_table(header, rows), encoding="utf8")
        output.with_suffix(".json").write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf8")
        msg.good(f"Saved the table to {output}")


RECIPE_FILE = "trained_with.json"


def training_recipe(cmd: List[str], config: Path, train_data: Path) -> Dict[str, Any]:
    """What a trained variant came from: its `spacy train` arguments and the contents of its
    config and training data, so a changed config or corpus is never mistaken for a reusable run."""

    def sha256(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    return {"arguments": cmd[1:], "config_sha256": sha256(config), "train_sha256": sha256(train_data)}


def read_recipe(directory: Path) -> Optional[Dict[str, Any]]:
    path = directory / RECIPE_FILE
    return json.loads(path.read_text(encoding="utf8")) if path.exists() else None


def _row(name: str, results: List[Dict]) -> Tuple[str, ...]:
    """One table row; over several runs, mean ± sd of every score."""
    token = [r["token_io"]["per_type"] for r in results]
    return (
        name,
        mean_sd([r["entity"]["ents_f"] for r in results]),
        *(mean_sd([t.get(label, {}).get("f", 0.0) for t in token]) for label in LABELS),
        mean_sd([r["words_per_second"] for r in results], ",.0f"),
    )
