"""The command lines: every command that project.yml and CI call exists where it is called,
`python -m spacy_ru_nn` offers the user commands only, and the wheel holds no research code."""
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import typer.main

from scripts import app as scripts_app
from spacy_ru_nn.cli import app as user_app

ROOT = Path(__file__).parent.parent
USER_COMMANDS = {
    "annotate", "check-metrics", "convert factru", "convert sms", "evaluate-ner", "evaluate-normal", "evaluate-spam",
    "fetch-data",
    "ner-package-meta",
}  # fmt: skip


def registered_commands(app) -> set:
    group = typer.main.get_command(app)
    names = set()
    for name, command in group.commands.items():
        subcommands = getattr(command, "commands", None)
        names |= {f"{name} {sub}" for sub in subcommands} if subcommands else {name}
    return names


def called_commands(module: str) -> set:
    called = set()
    for path in (ROOT / "project.yml", ROOT / ".ci" / "run"):
        pattern = rf"python -m {module} ((?:convert )?[a-z][a-z-]*)"
        called |= {match.group(1) for match in re.finditer(pattern, path.read_text("utf8"))}
    return called


def test_every_command_called_by_the_project_exists():
    assert registered_commands(user_app) == USER_COMMANDS
    assert {"convert factru", "convert sms", "evaluate-ner", "check-metrics"} <= called_commands("spacy_ru_nn")
    assert called_commands("spacy_ru_nn") <= USER_COMMANDS
    research = called_commands("scripts")
    assert {"cv-ner", "cv-spam", "benchmark-ner", "ablate-ner"} <= research
    assert research <= registered_commands(scripts_app)
    assert not research & USER_COMMANDS


def test_module_entry_point_lists_user_commands_only():
    result = subprocess.run([sys.executable, "-m", "spacy_ru_nn", "--help"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    listed = set(re.findall(r"^│ ([a-z][a-z-]+) ", result.stdout, flags=re.M))
    assert listed == {command.split()[0] for command in USER_COMMANDS}
    code = "import sys, spacy_ru_nn.cli; assert not [m for m in sys.modules if m.startswith('scripts')]"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def test_the_wheel_holds_the_package_and_no_research(tmp_path):
    pytest.importorskip("setuptools")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = tmp_path.glob("spacy_ru_nn-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    modules = {name for name in names if name.endswith(".py")}
    assert "spacy_ru_nn/ner/component.py" in modules and "spacy_ru_nn/annotate/run.py" in modules
    assert not [name for name in modules if not name.startswith("spacy_ru_nn/")]
    research = ("experiments", "benchmark", "ablate", "cv_", "plot_", "profile", "robustness", "training_log")
    assert not [name for name in modules if any(word in name for word in research)]
