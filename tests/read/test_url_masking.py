"""Every credential a database URL can carry stays out of every output, report, log and error.

The forms: a password in the user info, query keys such as password / pwd / secret / token in
any case, and an ODBC connection string (``odbc_connect``) holding ``PWD=``, URL-encoded or not.
Each goes through ``inspect``, ``validate`` and ``run`` (screen, inspect.txt, summary.json,
results.csv, run.log) and through the errors a bad source raises.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from importer.config.masking import mask_text, mask_url, url_secrets
from importer.config.messages import mask_credentials
from tests.conftest import invoke_cli

SECRET = "S3cr%t;Pa55"  # a ';' and a '%' as real passwords have
ENCODED = "S3cr%25t%3BPa55"

FORMS = {
    "query password": f"sqlite:///{{db}}?password={ENCODED}",
    "query PWD, any case": f"sqlite:///{{db}}?mode=ro&PWD={ENCODED}",
    "query token": f"sqlite:///{{db}}?access_Token={ENCODED}",
    "query secret": f"sqlite:///{{db}}?Client_Secret={ENCODED}&timeout=5",
    "odbc_connect encoded": (
        "sqlite:///{db}?odbc_connect=DRIVER%3D%7BODBC+Driver+18%7D%3BSERVER%3Dsql1%3BUID%3Dhr"
        f"%3BPWD%3D%7B{ENCODED.replace('%3B', '%3B')}%7D%3B"
    ),
    "odbc_connect plain": "sqlite:///{db}?odbc_connect=DRIVER={{X}};UID=hr;Pwd=" + ENCODED,
}


def _leaks(text: str) -> bool:
    return any(form in text for form in ("S3cr", "Pa55", ENCODED))


@pytest.mark.parametrize("form", FORMS.values(), ids=FORMS.keys())
def test_mask_url_hides_every_form_and_keeps_the_rest_readable(form: str) -> None:
    url = form.format(db="/data/legacy.db")

    shown = mask_url(url)

    assert not _leaks(shown), shown
    assert shown.startswith("sqlite:////data/legacy.db?")
    assert "***" in shown
    assert any(SECRET in s or ENCODED in s for s in url_secrets(url))
    assert not _leaks(mask_text(f"cannot open {url}: refused"))
    assert not _leaks(mask_credentials(f"'{url}'"))


def test_a_password_in_the_user_info_keeps_the_user_name() -> None:
    url = f"postgresql+psycopg://hr:{ENCODED}@db.contoso.com:5432/skills?sslmode=require"

    assert mask_url(url) == "postgresql+psycopg://hr:***@db.contoso.com:5432/skills?sslmode=require"


def test_an_odbc_string_keeps_its_attributes_but_its_password() -> None:
    url = (
        "mssql+pyodbc:///?odbc_connect=DRIVER%3D%7BODBC+Driver+18+for+SQL+Server%7D%3B"
        "SERVER%3Dsql1%3BUID%3Dhr%3BPWD%3D%7Bse%3Bcr%7D%7Det%7D%3B"
    )

    shown = mask_url(url)

    assert "SERVER=sql1;UID=hr;PWD=***;" in shown.replace("+", " ")
    for part in ("se;cr", "se%3Bcr", "et}"):
        assert part not in shown


def _database(folder: Path) -> Path:
    path = folder / "legacy.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE s (email TEXT, skill TEXT, level TEXT)")
        connection.executemany(
            "INSERT INTO s VALUES (?, ?, ?)",
            [
                ("adele.vance@contoso.com", "Python", "4"),
                ("alex.wilber@contoso.com", "SQL", "Guru"),
            ],
        )
    connection.close()
    return path


def _every_file_under(folder: Path) -> str:
    return "\n".join(
        path.read_text(encoding="utf-8", errors="replace")
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.suffix in (".txt", ".csv", ".json", ".log")
    )


@pytest.mark.parametrize("form", FORMS.values(), ids=FORMS.keys())
def test_inspect_validate_and_run_never_show_the_password(
    form: str, config: Path, tmp_path: Path
) -> None:
    url = form.format(db=_database(tmp_path))
    query = ("--query", "SELECT email, skill, level FROM s")
    outputs = []
    for command in ("inspect", "validate", "run"):
        code, out, err = invoke_cli(command, "-c", str(config), url, *query)
        assert code in (0, 1), err
        outputs.append(out + err)

    reports = tmp_path / "reports"
    written = _every_file_under(reports)
    assert "legacy.db" in written  # the source is named ...
    assert "***" in written  # ... masked
    assert len(list(reports.rglob("run.log"))) == 1
    assert len(list(reports.rglob("inspect.txt"))) == 1
    assert len(list(reports.rglob("summary.json"))) == 2
    assert not _leaks(written)
    assert not any(_leaks(text) for text in outputs), outputs


@pytest.mark.parametrize("form", FORMS.values(), ids=FORMS.keys())
def test_errors_about_the_source_never_show_the_password(
    form: str, config: Path, tmp_path: Path
) -> None:
    missing = form.format(db=tmp_path / "missing.db")
    bad_query = form.format(db=_database(tmp_path))
    for url, query in ((missing, "SELECT 1"), (bad_query, "SELECT nothing FROM s")):
        code, out, err = invoke_cli("validate", "-c", str(config), url, "--query", query)
        assert code == 2
        assert "legacy.db" in err or "missing.db" in err
        assert not _leaks(out + err), err


def test_a_driver_error_quoting_the_odbc_string_is_scrubbed(config: Path) -> None:
    url = (
        "mssql+pyodbc:///?odbc_connect=DRIVER%3D%7BODBC+Driver+18%7D%3BSERVER%3Dsql1"
        f"%3BUID%3Dhr%3BPWD%3D{ENCODED}%3B"
    )

    code, out, err = invoke_cli("validate", "-c", str(config), url, "--query", "SELECT 1")

    assert code == 2
    assert "PWD" in err.upper()
    assert not _leaks(out + err), err
