"""Dependency audit: the known vulnerabilities of every installed distribution, from PyPI.

    .venv/bin/python .ci/audit.py

pip-audit asks PyPI's per-release JSON (/pypi/NAME/VERSION/json) or OSV, and neither
answers from our machines (404 and no route; docs/security.md). PyPI's project JSON
(/pypi/NAME/json) does answer, and its `vulnerabilities` are those of the project's
latest release (PyPI's JSON API docs). So a distribution installed at its latest release
is audited fully: any vulnerability listed fails the audit (exit 1). One installed at an
older release cannot be audited this way; it is listed with the release it trails, and
the audit says how many were checked. No answer from PyPI at all is reported and is not a
failure (CI must pass offline). Standard library only.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata

PYPI = "https://pypi.org/pypi/{name}/json"
TIMEOUT_SECONDS = 20
THREADS = 8
LOCAL = {"paperwire"}  # this project, not on PyPI


def installed() -> dict[str, str]:
    """Installed distribution name (lower case) -> version, this project left out."""
    found = {}
    for dist in metadata.distributions():
        name = (dist.metadata["Name"] or "").lower()
        if name and name not in LOCAL:
            found[name] = dist.version
    return found


def project(name: str) -> dict | None:
    """PyPI's project JSON of `name`, or None when PyPI does not answer it."""
    try:
        with urllib.request.urlopen(PYPI.format(name=name), timeout=TIMEOUT_SECONDS) as answer:
            return json.load(answer)
    except (urllib.error.URLError, TimeoutError, json.JSONDecodeError, OSError):
        return None


def audit(versions: dict[str, str]) -> tuple[list[str], list[str], list[str], list[str]]:
    """(vulnerable, audited, older than latest, unanswered) lines, one per distribution."""
    vulnerable, audited, older, unanswered = [], [], [], []
    with ThreadPoolExecutor(THREADS) as pool:
        answers = dict(zip(versions, pool.map(project, versions)))
    for name, version in sorted(versions.items()):
        found = answers[name]
        if found is None:
            unanswered.append(name)
            continue
        latest = found["info"]["version"]
        if version != latest:
            older.append(f"{name} {version} (latest {latest})")
            continue
        audited.append(f"{name} {version}")
        for vulnerability in found.get("vulnerabilities") or []:
            ids = ", ".join([vulnerability.get("id", "?"), *vulnerability.get("aliases", [])])
            fixed = ", ".join(vulnerability.get("fixed_in") or []) or "no fix yet"
            vulnerable.append(f"{name} {version}: {ids} (fixed in: {fixed}) {vulnerability.get('link', '')}")
    return vulnerable, audited, older, unanswered


def main() -> int:
    versions = installed()
    vulnerable, audited, older, unanswered = audit(versions)
    if len(unanswered) == len(versions):
        print(f"audit: PyPI did not answer for any of {len(versions)} distributions; not audited")
        return 0
    print(f"audit: {len(audited)} of {len(versions)} distributions are at their latest release and were "
          f"checked against PyPI's known vulnerabilities: {len(vulnerable)} found")
    for line in vulnerable:
        print(f"  VULNERABLE {line}")
    if older:
        print(f"audit: {len(older)} are older than their latest release and could not be checked "
              f"(PyPI's per-release JSON does not answer here): {'; '.join(older)}")
    if unanswered:
        print(f"audit: no answer from PyPI for {', '.join(unanswered)}")
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
