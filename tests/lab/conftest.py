import os
import time

import pytest

from hatui.lab import Lab

from .support import OperatorLoop, lab_spec, require_lab, restore

# Lab tests use their own namespace names and folder, so a lab a developer has up is untouched.
PREFIX = os.environ.get("HATUI_TEST_PREFIX", "hatui-t-")
NAME = os.environ.get("HATUI_TEST_NAME", "test")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/lab/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.lab)


@pytest.fixture(scope="session")
def lab_session():
    require_lab()
    lab = Lab(lab_spec(PREFIX, NAME))
    t0 = time.monotonic()
    try:
        lab.up()
        lab.up_seconds = time.monotonic() - t0
        yield lab
    finally:
        # runs even when tests fail or are interrupted: nothing of the lab is left behind
        lab.down()


@pytest.fixture
def lab(lab_session):
    """The session's lab, brought back to health after each test that injects faults."""
    yield lab_session
    restore(lab_session)


@pytest.fixture(scope="module")
def op(lab_session):
    loop = OperatorLoop(lab_session.spec.operator_ns)
    yield loop
    loop.close()
