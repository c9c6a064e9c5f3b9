"""The research commands' Typer app: `python -m scripts COMMAND` from the project's root."""
import typer

app = typer.Typer(
    name="scripts",
    help=(
        "spacy-ru-nn research: cross-validation, ablation, benchmarks, profiles and plots behind "
        "README's tables and docs/, run by project.yml from the project's root."
    ),
    no_args_is_help=True,
    add_completion=False,
)
