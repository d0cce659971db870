"""Docs that can't drift: every setting and every CLI command is documented."""

from pathlib import Path

import click
import pytest

from paperwire.cli import cli
from paperwire.cli.errors import ExitCode
from paperwire.config import SETTINGS

DOCS = Path(__file__).parent.parent / "docs"


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.env)
def test_every_setting_is_in_configuration_md(setting):
    text = (DOCS / "configuration.md").read_text()
    assert f"`{setting.env}`" in text and f"`{setting.default}`" in text


def _commands(group: click.Group, prefix: str = "paperwire"):
    for name, command in group.commands.items():
        yield f"{prefix} {name}"
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix} {name}")


@pytest.mark.parametrize("command", sorted(_commands(cli)))
def test_every_command_is_in_cli_md(command):
    assert f"`{command}" in (DOCS / "cli.md").read_text()


@pytest.mark.parametrize("code", list(ExitCode), ids=lambda code: code.name)
def test_every_exit_code_is_in_cli_md(code):
    assert f"\n| {code.value} | " in (DOCS / "cli.md").read_text()
