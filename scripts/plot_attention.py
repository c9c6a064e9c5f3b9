"""`plot-attention`: the attention pooling's weight on each word of a few test messages.

    python -m scripts plot-attention training/spam_bilstm_attention/model-best \\
        corpus/spam/test.spacy --output metrics/spam_attention.png
"""
from pathlib import Path
from typing import Any, List, Tuple

import spacy
import torch
import typer
from spacy.language import Language
from spacy.tokens import DocBin
from wasabi import msg

from ._app import app
from spacy_ru_nn.textcat.component import BoWTextCategorizer
from spacy_ru_nn.corpora.sms import POSITIVE_LABEL
from spacy_ru_nn.spam_metrics import pyplot


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
    plt = pyplot()
    torch.set_num_threads(1)
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
