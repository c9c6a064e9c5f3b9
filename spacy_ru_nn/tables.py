"""Markdown tables: what the evaluation and benchmark commands write beside their JSON."""
from statistics import mean, stdev
from typing import Sequence


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table, one line per row."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def mean_sd(values: Sequence[float], fmt: str = ".3f") -> str:
    """One cell for a score over several runs or folds: "mean ± sd" (sample sd), or the value
    alone when there is one run."""
    if len(values) == 1:
        return format(values[0], fmt)
    return f"{mean(values):{fmt}} ± {stdev(values):{fmt}}"
