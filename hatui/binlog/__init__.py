"""Binary log tooling: parse ``mariadb-binlog -v`` / ``mysqlbinlog -v`` text and render replay scripts."""
