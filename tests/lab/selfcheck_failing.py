"""Not collected by the normal run (no test_ prefix): test_lifecycle runs it on purpose to prove
that a failing lab test still leaves no namespace, process or mount behind."""


def test_fails_while_the_lab_is_up(lab):
    assert lab.status()["up"] is True
    raise AssertionError("deliberate failure")
