import os
import time

import pytest

from hatui.lab import Lab, canonical
from hatui.lab.operator import OperatorLoop

from .support import lab_spec, require_lab

# Lab tests use their own namespace names and folder, so a lab a developer has up is untouched.
PREFIX = os.environ.get("HATUI_TEST_PREFIX", "hatui-t-")
NAME = os.environ.get("HATUI_TEST_NAME", "test")

# What each lab test found when it started, when that was not the canonical lab: the test that
# ran before it left it so. Printed in the summary; the lab is repaired (or rebuilt) first.
_LEFT_OTHERWISE: list[tuple[str, list[str], bool]] = []
_PREVIOUS: dict[str, str] = {}


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/lab/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.lab)


def pytest_terminal_summary(terminalreporter):
    if not _LEFT_OTHERWISE:
        return
    tr = terminalreporter
    tr.section("lab tests that left the lab otherwise than they found it")
    for test, found, rebuilt in _LEFT_OTHERWISE:
        tr.line(f"{test}: the lab was {'rebuilt' if rebuilt else 'repaired'} after it; it had left:")
        for what in found:
            tr.line(f"    {what}")


@pytest.fixture(scope="session")
def lab_session():
    require_lab()
    lab = Lab(lab_spec(PREFIX, NAME))
    t0 = time.monotonic()
    try:
        lab.up()
        lab.up_seconds = time.monotonic() - t0
        yield lab
        found = canonical.problems(lab)  # the last test: said, not repaired (the lab goes now)
        if found and _PREVIOUS.get("test"):
            _LEFT_OTHERWISE.append((_PREVIOUS["test"], found, False))
    finally:
        # runs even when tests fail or are interrupted: nothing of the lab is left behind
        lab.down()


def _check_after(lab: Lab, test: str | None) -> None:
    r = canonical.restore(lab)
    if r.found:
        _LEFT_OTHERWISE.append((test or "(the lab as built)", r.found, r.rebuilt))


@pytest.fixture
def lab(lab_session, request):
    """The session's lab, verified canonical before the test (repaired or rebuilt if the test
    before left it otherwise, and that test named in the summary)."""
    _check_after(lab_session, _PREVIOUS.get("test"))
    _PREVIOUS["test"] = request.node.nodeid
    return lab_session


@pytest.fixture(scope="module")
def op(lab_session):
    loop = OperatorLoop(lab_session.spec.operator_ns)
    yield loop
    loop.close()
