"""BiLSTM spam commands: the pooling benchmark and the attention picture.

    python -m spacy_ru_nn benchmark-spam-bilstm configs/spam.cfg configs/spam_textcatbow.cfg \\
        configs/spam_bilstm.cfg corpus/spam --output metrics/spam_bilstm_benchmark.md
    python -m spacy_ru_nn plot-attention training/spam_bilstm_attention/model-best \\
        corpus/spam/test.spacy --output metrics/spam_attention.png
"""
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import spacy
import typer
from spacy.language import Language
from spacy.tokens import DocBin
from wasabi import msg

from ..components.textcat import BoWTextCategorizer
from ..corpora.sms import POSITIVE_LABEL
from ..layers.bilstm_classifier import POOLINGS
from ..spam_metrics import mean_and_sd
from ._app import app
from ._tables import markdown_table
from .spam import _fold_dirs, _set_torch_threads, train_and_score_spacy


@app.command("benchmark-spam-bilstm")
def benchmark_spam_bilstm(
    config_path: Path = typer.Argument(
        ..., help="nn_textcat perceptron config, configs/spam.cfg", exists=True, dir_okay=False
    ),
    baseline_config: Path = typer.Argument(
        ..., help="spaCy textcat config, configs/spam_textcatbow.cfg", exists=True, dir_okay=False
    ),
    bilstm_config: Path = typer.Argument(
        ..., help="BiLSTM config, configs/spam_bilstm.cfg", exists=True, dir_okay=False
    ),
    corpus_dir: Path = typer.Argument(
        ..., help="corpus/spam: train/dev/test.spacy and folds/", exists=True, file_okay=False
    ),
    poolings: List[str] = typer.Option(list(POOLINGS), "--pooling", help="BiLSTM pooling to train (repeatable); all four by default"),
    n_folds: Optional[int] = typer.Option(None, "--n-folds", help="Use only the first N folds (0: test split only); all by default"),
    training_dir: Path = typer.Option(Path("training/spam_bilstm_benchmark"), help="Where the trained models go"),
    output: Path = typer.Option(Path("metrics/spam_bilstm_benchmark.md"), "--output", "-o", help="Markdown table"),
    json_output: Optional[Path] = typer.Option(None, "--json", help="All numbers as JSON"),
) -> None:
    """One table, one run: the perceptron, spaCy TextCatBOW and the BiLSTM with each pooling on
    the same split (test F1/AUC/MCC, training seconds, messages/s) and the same folds."""
    for pooling in poolings:
        if pooling not in POOLINGS:
            msg.fail(f"--pooling must be one of {POOLINGS}, got {pooling!r}", exits=1)
    _set_torch_threads(1)
    folds = _fold_dirs(corpus_dir / "folds") if n_folds != 0 else []
    if n_folds:
        folds = folds[:n_folds]
    runs: List[Tuple[str, Path, Dict[str, Any], str]] = [
        ("nn_textcat (BoWPerceptron)", config_path, {}, config_path.stem),
        ("spaCy textcat (TextCatBOW.v3)", baseline_config, {}, baseline_config.stem),
    ]
    runs += [
        (f"nn_textcat (BiLSTM, {pooling} pooling)", bilstm_config, {"components.textcat.model.pooling": pooling}, f"{bilstm_config.stem}_{pooling}")
        for pooling in poolings
    ]
    systems: Dict[str, Dict[str, Any]] = {}
    for name, config, overrides, slug in runs:
        msg.text(f"Training {name} on the split and {len(folds)} folds ...")
        systems[name] = train_and_score_spacy(config, corpus_dir, folds, training_dir / slug, overrides)
        test = systems[name]["test"]
        msg.good(f"{name}: test F1 {test['f1']:.3f}, AUC {test['roc_auc']:.4f}, {test['train_seconds']:.1f} s")
    header, rows = _rows(systems, len(folds))
    msg.table(rows, header=header, divider=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    note = (
        f"\nTest: the duplicate-aware 70/15/15 split; {len(folds)}-fold: the duplicate-aware folds "
        "(mean ± sd). Every system early-stops on dev. msgs/s: `nlp.pipe` on raw texts "
        "(tokenization included), one torch thread, best of 3.\n"
    )
    output.write_text(markdown_table(header, rows) + note, encoding="utf8")
    msg.good(f"Saved {output}")
    if json_output is not None:
        json_output.parent.mkdir(parents=True, exist_ok=True)
        json_output.write_text(json.dumps(systems, indent=2), encoding="utf8")
        msg.good(f"Saved {json_output}")


def _rows(systems: Dict[str, Dict[str, Any]], n_folds: int) -> Tuple[Tuple[str, ...], List[Tuple[str, ...]]]:
    header: Tuple[str, ...] = ("system", "test F1", "test AUC", "test MCC")
    if n_folds:
        header += (f"{n_folds}-fold F1", f"{n_folds}-fold AUC")
    header += ("train s", "msgs/s")
    rows = []
    for name, result in systems.items():
        test = result["test"]
        row: Tuple[str, ...] = (name, f"{test['f1']:.3f}", f"{test['roc_auc']:.4f}", f"{test['mcc']:.3f}")
        if n_folds:
            f1_mean, f1_sd = mean_and_sd([m["f1"] for m in result["folds"]])
            auc_mean, auc_sd = mean_and_sd([m["roc_auc"] for m in result["folds"]])
            row += (f"{f1_mean:.3f} ± {f1_sd:.3f}", f"{auc_mean:.4f} ± {auc_sd:.4f}")
        row += (f"{test['train_seconds']:.1f}", f"{test['messages_per_second']:,.0f}")
        rows.append(row)
    return header, rows


def _attention_component(nlp: Language) -> BoWTextCategorizer:
    for _, pipe in nlp.pipeline:
        if isinstance(pipe, BoWTextCategorizer) and pipe.model.attrs.get("pooling") == "attention":
            return pipe
    msg.fail("No nn_textcat with a BiLSTMClassifier pooling with attention in this pipeline", exits=1)
    raise AssertionError  # unreachable: msg.fail exits


@app.command("plot-attention")
def plot_attention(
    model: str = typer.Argument(..., help="A pipeline whose nn_textcat pools with attention"),
    data_path: Path = typer.Argument(
        ..., help="Converted split, e.g. corpus/spam/test.spacy", exists=True, dir_okay=False
    ),
    output: Path = typer.Option(Path("metrics/spam_attention.png"), "--output", "-o", help="PNG file"),
    n_spam: int = typer.Option(4, help="Spam messages shown (the first ones in the file of 4 to max_words words)"),
    n_ham: int = typer.Option(2, help="Ham messages shown"),
    max_words: int = typer.Option(20, help="Longest message shown, in words"),
) -> None:
    """Draw the attention weights over the words of a few test messages: which words made
    the classifier call a message spam."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _set_torch_threads(1)
    nlp = spacy.load(model)
    textcat = _attention_component(nlp)
    gold = list(DocBin().from_disk(data_path).get_docs(nlp.vocab))
    picked: List[Tuple[str, Any, float]] = []
    wanted = {"spam": n_spam, "ham": n_ham}
    for gold_doc, doc in zip(gold, nlp.pipe(d.text for d in gold)):
        label = "spam" if gold_doc.cats.get(POSITIVE_LABEL, 0.0) >= 0.5 else "ham"
        n_words = sum(not t.is_space for t in doc)
        # Readable rows: skip one-word and very long messages.
        if wanted[label] > 0 and 4 <= n_words <= max_words:
            picked.append((label, doc, doc.cats[POSITIVE_LABEL]))
            wanted[label] -= 1
        if not any(wanted.values()):
            break
    if not picked:
        msg.fail(f"No messages of 4 to {max_words} words in {data_path}", exits=1)
    fig, axes = plt.subplots(len(picked), 1, figsize=(14, 0.95 * len(picked) + 0.8), squeeze=False)
    for ax, (label, doc, p_spam) in zip(axes[:, 0], picked):
        pairs = textcat.attention(doc)
        weights = [weight for _, weight in pairs]
        # Each row on its own scale: the question is which words of *this* message count.
        ax.imshow([weights], cmap="Reds", aspect="auto", vmin=0.0, vmax=max(max(weights), 1e-6))
        for x, (token, weight) in enumerate(pairs):
            word = token.text if len(token.text) <= 11 else token.text[:10] + "…"
            color = "white" if weight > 0.6 * max(weights) else "black"
            ax.text(x, -0.12, word, ha="center", va="center", fontsize=7.5, color=color)
            ax.text(x, 0.25, f"{weight:.2f}", ha="center", va="center", fontsize=6.5, color=color)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"gold {label}, p(spam) = {p_spam:.3f}", fontsize=9, loc="left")
    fig.suptitle("BiLSTM attention pooling: weight of each word (darker = more attention)", fontsize=11)
    fig.tight_layout()
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=110)
    plt.close(fig)
    msg.good(f"Saved {output} ({len(picked)} messages)")


__all__: Sequence[str] = ["benchmark_spam_bilstm", "plot_attention"]
