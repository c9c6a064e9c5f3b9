"""`plot-training`: learning curves from the log spaCy writes while training.

    python -m spacy train configs/spam.cfg --output training/spam ... \\
        --training.logger.output_file training/spam/train_log.jsonl
    python -m scripts plot-training training/spam/train_log.jsonl --output metrics/spam_training.png
"""
from pathlib import Path
from typing import List, Optional

import typer
from wasabi import msg

from ._app import app
from .training_log import Evaluation, best_evaluation, read_training_log


@app.command("plot-training")
def plot_training(
    log_path: Path = typer.Argument(
        ..., help="JSONL log of spacy.ConsoleLogger.v3 (its output_file)", exists=True, dir_okay=False
    ),
    output: Path = typer.Option(Path("metrics/training.png"), "--output", "-o", help="PNG file"),
    kept: str = typer.Option(
        "best", help="Which model is kept: 'best' (model-best, chosen by early stopping) or 'last' (model-last)"
    ),
    title: Optional[str] = typer.Option(None, help="Title of the figure; the log's name by default"),
    dev_label: str = typer.Option("dev", help="What the dev scores are scored on, for the legend"),
) -> None:
    """Draw the training loss per update and the dev scores at each evaluation, with the step
    of the kept model marked."""
    if kept not in ("best", "last"):
        msg.fail(f"--kept must be 'best' or 'last', got {kept!r}", exits=1)
    try:
        evaluations = read_training_log(log_path)
    except (ValueError, KeyError, OSError) as err:
        msg.fail(f"Cannot read the training log {log_path}", str(err), exits=1)
    chosen = best_evaluation(evaluations) if kept == "best" else evaluations[-1]
    draw_training(evaluations, chosen, output, title=title or log_path.parent.name, dev_label=dev_label, kept=kept)
    msg.good(
        f"Saved {output}: {len(evaluations)} evaluations, model-{kept} at step {chosen.step} "
        f"(epoch {chosen.epoch}, score {chosen.score:.4f})"
    )


def draw_training(
    evaluations: List[Evaluation], chosen: Evaluation, output: Path, *, title: str, dev_label: str, kept: str
) -> None:
    """Two panels sharing the step axis: training loss (log scale) and dev scores in percent."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [e.step for e in evaluations]
    fig, (loss_ax, score_ax) = plt.subplots(2, 1, figsize=(7, 5.5), sharex=True)
    loss_ax.plot(steps, [e.loss for e in evaluations], marker=".", color="tab:red")
    loss_ax.set_yscale("log")
    loss_ax.set_ylabel("training loss per update")
    for name in evaluations[0].scores:
        score_ax.plot(steps, [e.scores.get(name, float("nan")) for e in evaluations], marker=".", label=name)
    score_ax.set_ylabel(f"{dev_label} score (%)")
    score_ax.set_xlabel("step (updates)")
    for ax in (loss_ax, score_ax):
        ax.axvline(chosen.step, color="grey", linestyle="--")
        ax.grid(alpha=0.3)
    loss_ax.annotate(
        f"model-{kept}: step {chosen.step}, epoch {chosen.epoch}",
        xy=(chosen.step, 1.0),
        xycoords=("data", "axes fraction"),
        xytext=(4, -12),
        textcoords="offset points",
        fontsize=8,
        color="dimgrey",
    )
    score_ax.legend(loc="lower right", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=110)
    plt.close(fig)
