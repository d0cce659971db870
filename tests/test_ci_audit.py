""".ci/audit.py, the dependency audit CI runs, against PyPI's project JSON as PyPI writes it
(a fake PyPI: the real one is outside the machine)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("ci_audit", Path(__file__).resolve().parents[1] / ".ci" / "audit.py")
audit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(audit)

PYPI = {  # name -> PyPI's /pypi/NAME/json, the fields the audit reads
    "jinja2": {"info": {"version": "3.1.6"}, "vulnerabilities": []},
    "oldlib": {"info": {"version": "2.0"}, "vulnerabilities": []},
    "badlib": {"info": {"version": "1.4"}, "vulnerabilities": [{
        "id": "GHSA-xxxx-yyyy-zzzz", "aliases": ["CVE-2026-0001"], "fixed_in": [], "link": "https://osv.dev/x",
        "details": "...", "summary": "...", "withdrawn": None}]},
}


@pytest.fixture
def pypi(monkeypatch):
    monkeypatch.setattr(audit, "project", lambda name: PYPI.get(name))


def test_latest_releases_are_audited_and_older_ones_named(pypi):
    vulnerable, audited, older, unanswered = audit.audit(
        {"jinja2": "3.1.6", "oldlib": "1.0", "badlib": "1.4", "private": "0.1"})
    assert audited == ["badlib 1.4", "jinja2 3.1.6"]
    assert vulnerable == ["badlib 1.4: GHSA-xxxx-yyyy-zzzz, CVE-2026-0001 (fixed in: no fix yet) https://osv.dev/x"]
    assert older == ["oldlib 1.0 (latest 2.0)"] and unanswered == ["private"]


def test_a_known_vulnerability_fails_the_audit_and_no_answer_does_not(pypi, monkeypatch, capsys):
    monkeypatch.setattr(audit, "installed", lambda: {"badlib": "1.4", "jinja2": "3.1.6"})
    assert audit.main() == 1 and "VULNERABLE badlib 1.4" in capsys.readouterr().out
    monkeypatch.setattr(audit, "installed", lambda: {"jinja2": "3.1.6"})
    assert audit.main() == 0
    monkeypatch.setattr(audit, "project", lambda name: None)  # offline
    assert audit.main() == 0 and "PyPI did not answer" in capsys.readouterr().out
