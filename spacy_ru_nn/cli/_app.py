import typer

app = typer.Typer(
    name="spacy_ru_nn",
    help="spacy-ru-nn: data, conversion, evaluation and experiment commands used by project.yml.",
    no_args_is_help=True,
    add_completion=False,
)
convert_app = typer.Typer(help="Convert raw corpora into .spacy DocBins.", no_args_is_help=True)
app.add_typer(convert_app, name="convert")
