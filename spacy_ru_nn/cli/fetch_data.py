"""`fetch-data`: put the corpora under assets/, from their canonical sources or a local mirror.

The canonical sources are the `assets` of project.yml (a git checkout of factRuEval-2016 and
the UCI zip of the SMS Spam Collection), fetched with weasel. Offline machines pass a mirror
folder laid out like ../shared/data. Either way the files are checked against the digests the
published numbers were measured on, so a changed corpus never passes silently.
"""
import hashlib
import shutil
import zipfile
from pathlib import Path
from typing import Iterable, Optional

import typer
from wasabi import msg

from ._app import app

FACTRU = "factRuEval-2016"
FACTRU_PARTS = ("devset", "testset")
FACTRU_SUFFIXES = (".txt", ".tokens", ".spans", ".objects")
SMS_DIR = "sms_spam"
SMS_FILE = "SMSSpamCollection"
SMS_ZIP = Path("downloads") / "smsspamcollection.zip"
# SHA-256 of the corpus content the README's numbers come from.
DIGESTS = {
    FACTRU: "b7563fa1e912aa9d32a10cb7b11ab4eb132d56d4f3b41eedc01ee8755968f9d8",
    SMS_FILE: "7d039a24a6083ed9ef0f806ebad56bbb976e3aeb8de05669173bfdc4996c239d",
}


def factru_digest(root: Path) -> str:
    """One digest over every document file of devset and testset, names included."""
    sha = hashlib.sha256()
    for part in FACTRU_PARTS:
        files = sorted(p for p in (root / part).iterdir() if p.suffix in FACTRU_SUFFIXES)
        for path in files:
            sha.update(f"{part}/{path.name}\n".encode("utf8"))
            sha.update(path.read_bytes())
    return sha.hexdigest()


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check(name: str, actual: str, allow_changed: bool) -> None:
    expected = DIGESTS[name]
    if actual == expected:
        msg.good(f"{name}: content matches the published digest")
        return
    text = f"{name}: content digest {actual} differs from the expected {expected}"
    if allow_changed:
        msg.warn(text, "Continuing because of --allow-changed: results may differ from README.")
    else:
        msg.fail(text, "Check the source, or pass --allow-changed to use it anyway.", exits=1)


def _copy_tree(source: Path, dest: Path, names: Iterable[str]) -> None:
    for name in names:
        src = source / name
        if not src.exists():
            msg.fail(f"Missing in the mirror: {src}", MIRROR_HINT, exits=1)
        target = dest / name
        if target.exists():
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        if src.is_dir():
            shutil.copytree(src, target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)


MIRROR_HINT = (
    "Without internet access, pass a local copy of the corpora: `python -m spacy project run all . "
    "--vars.mirror DIR` (or `fetch-data --mirror DIR`), where DIR holds "
    f"{FACTRU}/devset, {FACTRU}/testset and {SMS_DIR}/{SMS_FILE}."
)


def _download(assets: Path, project_dir: Path) -> None:
    """Fetch project.yml's assets with weasel, or stop with one line that names the mirror."""
    from weasel.cli.assets import project_assets

    # weasel checks out a repository's subfolder only into an existing parent folder.
    (assets / FACTRU).mkdir(parents=True, exist_ok=True)
    (assets / SMS_ZIP).parent.mkdir(parents=True, exist_ok=True)
    msg.info("Downloading the canonical sources listed under `assets` in project.yml")
    try:
        project_assets(project_dir)
    except (SystemExit, Exception) as err:  # weasel reports some failed downloads by exiting
        # The last line of a failed git or HTTP call says why ("Could not resolve host: ...").
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        reason = f": {lines[-1]}" if lines and not isinstance(err, SystemExit) else ""
        msg.fail(f"Could not download the corpora{reason}", MIRROR_HINT, exits=1)
    missing = [str(path) for path in (assets / FACTRU / "devset", assets / FACTRU / "testset", assets / SMS_ZIP)
               if not path.exists()]
    if missing:
        msg.fail(f"Could not download the corpora: {', '.join(missing)} missing.", MIRROR_HINT, exits=1)


@app.command("fetch-data")
def fetch_data(
    assets: Path = typer.Option(Path("assets"), help="The project's assets folder"),
    mirror: Optional[str] = typer.Option(
        "",
        help=(
            "A local copy of the corpora: a folder holding factRuEval-2016/devset, factRuEval-2016/testset "
            "and sms_spam/SMSSpamCollection. Empty: download them from their canonical sources"
        ),
    ),
    project_dir: Path = typer.Option(Path("."), help="The project folder whose project.yml lists the download sources"),
    allow_changed: bool = typer.Option(False, "--allow-changed", help="Use corpora whose content differs from the published one (a warning instead of an error)"),
) -> None:
    """Put the corpora into the assets folder, downloaded or copied from --mirror, and check them
    against the SHA-256 digests of the published numbers."""
    assets.mkdir(parents=True, exist_ok=True)
    if mirror:
        mirror_dir = Path(mirror)
        if not mirror_dir.is_dir():
            msg.fail(f"Mirror folder not found: {mirror_dir}", MIRROR_HINT, exits=1)
        msg.info(f"Copying corpora from the mirror {mirror_dir}")
        (assets / FACTRU).mkdir(exist_ok=True)
        _copy_tree(mirror_dir / FACTRU, assets / FACTRU, [*FACTRU_PARTS, "LICENSE"])
        _copy_tree(mirror_dir / SMS_DIR, assets / SMS_DIR, [SMS_FILE])
    else:
        _download(assets, project_dir)
        zip_path = assets / SMS_ZIP
        with zipfile.ZipFile(zip_path) as archive:
            (assets / SMS_DIR).mkdir(parents=True, exist_ok=True)
            (assets / SMS_DIR / SMS_FILE).write_bytes(archive.read(SMS_FILE))
        msg.good(f"Unpacked {SMS_FILE} from {zip_path}")
    _check(FACTRU, factru_digest(assets / FACTRU), allow_changed)
    _check(SMS_FILE, file_digest(assets / SMS_DIR / SMS_FILE), allow_changed)
