import shutil
from pathlib import Path

from typer.testing import CliRunner

from spacy_ru_nn.cli import app

FIXTURE = Path(__file__).parent / "fixtures" / "factru"


def make_mirror(root: Path) -> Path:
    mirror = root / "mirror"
    shutil.copytree(FIXTURE, mirror / "factRuEval-2016")
    (mirror / "factRuEval-2016" / "LICENSE").write_text("MIT\n")
    (mirror / "sms_spam").mkdir()
    (mirror / "sms_spam" / "SMSSpamCollection").write_text("ham\tHello there\nspam\tWIN a prize now\n")
    return mirror


def test_mirror_copy_refuses_changed_content(tmp_path):
    mirror = make_mirror(tmp_path)
    result = CliRunner().invoke(app, ["fetch-data", "--assets", str(tmp_path / "assets"), "--mirror", str(mirror)])
    assert result.exit_code == 1
    assert "differs from the expected" in " ".join(result.output.split())
    assert (tmp_path / "assets" / "factRuEval-2016" / "devset" / "pushkin_1.txt").exists()


def test_mirror_copy_with_allow_changed(tmp_path):
    mirror = make_mirror(tmp_path)
    args = ["fetch-data", "--assets", str(tmp_path / "assets"), "--mirror", str(mirror), "--allow-changed"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "assets" / "sms_spam" / "SMSSpamCollection").read_text().startswith("ham\t")
    # A second run replaces what is there instead of failing on existing folders.
    assert CliRunner().invoke(app, args).exit_code == 0


def test_missing_mirror_folder(tmp_path):
    result = CliRunner().invoke(app, ["fetch-data", "--assets", str(tmp_path / "a"), "--mirror", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "Mirror folder not found" in " ".join(result.output.split())


def test_offline_download_names_the_mirror(tmp_path, monkeypatch):
    import weasel.cli.assets

    def offline(project_dir):
        raise RuntimeError("Cloning into '.'...\nfatal: unable to access: Could not resolve host: github.com")

    monkeypatch.setattr(weasel.cli.assets, "project_assets", offline)
    result = CliRunner().invoke(app, ["fetch-data", "--assets", str(tmp_path / "assets")])
    output = " ".join(result.output.split())
    assert result.exit_code == 1
    assert "Could not resolve host: github.com" in output
    assert "--vars.mirror DIR" in output and "sms_spam/SMSSpamCollection" in output
