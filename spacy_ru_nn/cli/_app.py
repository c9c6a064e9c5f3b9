import typer

app = typer.Typer(
    name="spacy_ru_nn",
    help="spacy-ru-nn: fetch and convert the corpora, evaluate and package pipelines, annotate corpora.",
    no_args_is_help=True,
    add_completion=False,
)
convert_app = typer.Typer(help="Convert raw corpora into .spacy DocBins.", no_args_is_help=True)
app.add_typer(convert_app, name="convert")
