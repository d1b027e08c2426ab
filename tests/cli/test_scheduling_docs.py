"""docs/scheduling.md: every recipe parses, runs the real command, and names its exit codes.

The recipes are read out of the document (each code block follows a ``<!-- recipe: NAME -->``
line), so the tests check what a reader copies. systemd units are parsed here; where
``systemd-analyze`` is installed they are verified by it as well.
"""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
from pathlib import Path, PureWindowsPath
from typing import Any

import yaml

from importer.cli import cli

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "scheduling.md"
ALERTED = ("1", "2", "3", "4", "130")


def _recipes() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    found = re.findall(r"<!-- recipe: (\S+) -->\n```[\w-]*\n(.*?)\n```", text, flags=re.DOTALL)
    return dict(found)


def _sections() -> dict[str, str]:
    parts = re.split(r"^## ", DOC.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return {part.splitlines()[0]: part for part in parts[1:]}


def _unit(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return parser


def _run_command(argv: list[str]) -> None:
    """The command is a real `skills-import run` with a config file and an input."""
    assert PureWindowsPath(argv[0]).name.removesuffix(".exe") == "skills-import"
    assert argv[1] == "run"
    assert "run" in cli.commands
    assert argv[argv.index("-c") + 1].endswith("config.yaml")
    assert argv[-1].endswith((".xlsx", ".csv"))


def test_every_scheduler_has_a_recipe_and_names_the_exit_codes_to_alert_on() -> None:
    assert set(_recipes()) == {
        "crontab",
        "skills-import.service",
        "skills-import.timer",
        "schtasks",
        "cronjob.yaml",
    }
    sections = _sections()
    for title in (
        "cron (Linux, macOS)",
        "systemd service and timer (Linux)",
        "Windows Task Scheduler",
        "Kubernetes CronJob",
    ):
        section = sections[title]
        assert "**Exit codes:**" in section, title
        codes = section.split("**Exit codes:**", 1)[1].split("\n- **", 1)[0]
        for code in ALERTED:
            assert re.search(rf"\b{code}\b|0x{int(code):x}\b", codes), (title, code)
        assert "**Logs:**" in section, title
        assert "**Reports:**" in section, title


def test_the_crontab_line_runs_the_import_and_reports_its_exit_code() -> None:
    [line] = [line for line in _recipes()["crontab"].splitlines() if line and line[0].isdigit()]
    fields = line.split(None, 5)
    assert fields[:5] == ["30", "2", "*", "*", "*"]
    assert "%" not in fields[5]  # cron would turn it into a newline
    command = fields[5].split("&&", 1)[1].split(">", 1)[0]
    _run_command(shlex.split(command))
    assert "|| echo" in fields[5]


def test_the_systemd_units_parse_and_stop_politely() -> None:
    service = _unit(_recipes()["skills-import.service"])
    assert service["Service"]["Type"] == "oneshot"
    assert service["Service"]["KillSignal"] == "SIGTERM"
    assert int(service["Service"]["TimeoutStopSec"]) >= 30  # time to write the report
    _run_command(shlex.split(service["Service"]["ExecStart"]))
    timer = _unit(_recipes()["skills-import.timer"])
    assert timer["Timer"]["OnCalendar"]
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_systemd_analyze_accepts_the_units_where_it_is_installed(tmp_path: Path) -> None:
    recipes = _recipes()
    program = shutil.which("skills-import") or str(ROOT / ".venv" / "bin" / "skills-import")
    service = recipes["skills-import.service"].replace(
        "/opt/skills-import/bin/skills-import", program
    )
    service = service.replace("User=skills-import\n", "")  # no such account here
    (tmp_path / "skills-import.service").write_text(service + "\n", encoding="utf-8")
    (tmp_path / "skills-import.timer").write_text(
        recipes["skills-import.timer"] + "\n", encoding="utf-8"
    )
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        # CI installs nothing for this; the parsing test above still ran.
        assert _unit(service)["Service"]["ExecStart"].startswith(program)
        return
    done = subprocess.run(
        [analyze, "verify", "--man=no", "skills-import.service", "skills-import.timer"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "skills-import" not in done.stderr, done.stderr


def test_the_schtasks_line_creates_a_daily_task_for_a_named_account() -> None:
    line = _recipes()["schtasks"].strip()
    assert line.startswith("schtasks /Create ")
    head, task = line.split(" /TR ", 1)
    options = dict(re.findall(r"/(\w+) (\S+)", head))
    assert options["SC"] == "DAILY"
    assert "\\" in options["RU"]  # DOMAIN\account, not SYSTEM
    assert options["RP"] == "*"  # the password is stored: DPAPI needs it
    assert task.startswith('"cmd /c \\"')
    inner = task.removeprefix('"cmd /c \\"')
    _run_command(inner.split(" 2>>")[0].split())


def test_the_cronjob_never_overlaps_and_runs_the_import_with_the_config() -> None:
    cronjob: dict[str, Any] = yaml.safe_load(_recipes()["cronjob.yaml"])
    assert cronjob["apiVersion"] == "batch/v1"
    assert cronjob["kind"] == "CronJob"
    spec = cronjob["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert len(spec["schedule"].split()) == 5
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["terminationGracePeriodSeconds"] >= 30
    [container] = pod["containers"]
    _run_command(container["command"])
    config = container["command"][container["command"].index("-c") + 1]
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    config_volume = volumes[mounts[str(Path(config).parent)]]
    assert "configMap" in config_volume
    home = next(item["value"] for item in container["env"] if item["name"] == "HOME")
    assert "persistentVolumeClaim" in volumes[mounts[home]]  # token cache and lock survive
