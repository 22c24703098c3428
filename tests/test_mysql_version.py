"""Which server: flavor and version from @@version / @@version_comment."""

from __future__ import annotations

import pytest

from hatui.mysql.version import Flavor, ServerVersion, detect_version


@pytest.mark.parametrize(
    "version, comment, expected",
    [
        ("10.11.19-MariaDB-0+deb12u1-log", "Debian 12", (Flavor.MARIADB, 10, 11, 19)),
        ("11.4.2-MariaDB", None, (Flavor.MARIADB, 11, 4, 2)),
        ("5.5.5-10.11.6-MariaDB-log", None, (Flavor.MARIADB, 10, 11, 6)),  # handshake form
        ("10.6.12", "mariadb.org binary distribution", (Flavor.MARIADB, 10, 6, 12)),
        ("5.7.44-log", "MySQL Community Server (GPL)", (Flavor.MYSQL, 5, 7, 44)),
        ("8.0.36", "MySQL Community Server - GPL", (Flavor.MYSQL, 8, 0, 36)),
        ("8.4.3", None, (Flavor.MYSQL, 8, 4, 3)),
        ("8.0.32-24", "Percona Server (GPL), Release 24, Revision e5c6e9d2", (Flavor.PERCONA, 8, 0, 32)),
        ("5.7.22-log", None, (Flavor.MYSQL, 5, 7, 22)),
    ],
)
def test_known_version_strings(version, comment, expected):
    v = detect_version(version, comment)
    assert (v.flavor, v.major, v.minor, v.patch) == expected
    assert v.raw == version


def test_bytes_from_the_driver_are_read_too():
    v = detect_version(b"10.11.19-MariaDB-0+deb12u1-log", b"Debian 12")
    assert v.is_mariadb and str(v) == "MariaDB 10.11.19"


def test_percona_speaks_mysql_and_says_so():
    v = detect_version("8.0.32-24", "Percona Server (GPL), Release 24, Revision e5c6e9d2")
    assert str(v) == "Percona Server 8.0.32" and not v.is_mariadb


def test_version_comparison_is_numeric_not_textual():
    v = detect_version("8.0.9")
    assert v.at_least(8, 0, 9) and not v.at_least(8, 0, 22)
    assert detect_version("8.0.22").at_least(8, 0, 9)  # "22" < "9" as text


@pytest.mark.parametrize(
    "nonsense",
    ["", "   ", "abc", "8.0", "MySQL 8.0.36", "v8.0.36", "4.1.22", "6.0.11-alpha", "8..0.1", "x10.11.2-MariaDB"],
)
def test_nonsense_is_refused_naming_what_was_read(nonsense):
    with pytest.raises(ValueError) as e:
        detect_version(nonsense)
    assert repr(nonsense.strip()) in str(e.value)


def test_server_version_is_a_frozen_value():
    v = detect_version("8.4.3")
    assert v == ServerVersion(Flavor.MYSQL, 8, 4, 3, "8.4.3")
    with pytest.raises(AttributeError):
        v.major = 9  # type: ignore[misc]
