"""The command line: every `python -m spacy_ru_nn` command that project.yml and CI call exists,
and the user commands load without the experiment commands."""
import re
import subprocess
import sys
from pathlib import Path

import typer.main

from spacy_ru_nn.experiments import app

ROOT = Path(__file__).parent.parent


def registered_commands() -> set:
    group = typer.main.get_command(app)
    names = set()
    for name, command in group.commands.items():
        subcommands = getattr(command, "commands", None)
        names |= {f"{name} {sub}" for sub in subcommands} if subcommands else {name}
    return names


def test_every_command_called_by_the_project_exists():
    called = set()
    for path in (ROOT / "project.yml", ROOT / ".ci" / "run"):
        for match in re.finditer(r"python -m spacy_ru_nn ((?:convert )?[a-z][a-z-]*)", path.read_text("utf8")):
            called.add(match.group(1))
    assert {"convert factru", "convert sms", "evaluate-ner", "cv-ner", "check-metrics"} <= called
    assert called <= registered_commands()


def test_user_commands_do_not_import_the_experiments():
    code = (
        "import sys; from spacy_ru_nn.cli import app; "
        "assert not [m for m in sys.modules if m.startswith('spacy_ru_nn.experiments')], sorted(sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_module_entry_point_lists_user_and_experiment_commands():
    result = subprocess.run([sys.executable, "-m", "spacy_ru_nn", "--help"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for name in ("fetch-data", "evaluate-spam", "benchmark-ner", "plot-attention"):
        assert name in result.stdout
