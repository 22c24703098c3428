"""What a health-check script checks: a real query, or only that a process exists.

Seed 000's checkMySQL.py "returns 0 when the mysql process exists": a hung mysqld keeps its
process, so the VIP stays on a database that answers nothing. We read the script (or the inline
command) and look for what it does. Pure functions over text.
"""

from __future__ import annotations

import re
import shlex

# Evidence that the script asks the server something (a query, a ping through the protocol).
# Gaps between words are bounded ({0,200}): an unbounded [^\n]* rescans a long one-line script
# from every "mysql" in it (a 48 KB line took 3 s).
_QUERY = re.compile(
    r"""(\bselect\b|\bshow\s+(slave|replica|all\s+slaves|global|status|databases|variables)\b
        |\bmysqladmin\b[^\n]{0,200}?\b(ping|status)\b|\b(mysql|mariadb)\b[^\n|;]{0,200}?\s(-e|--execute)\b
        |\bMySQLdb\b|\bpymysql\b|\bmysql\.connector\b|\bmysqli?_(connect|query)\b
        |\bcheck-mysql\b|\bhatui\.checkmysql\b|\bcursor\(\)|\.execute\()""",
    re.IGNORECASE | re.VERBOSE,
)

# Evidence of a process (or port) check.
_PROCESS = re.compile(
    r"""(\bpidof\b|\bpgrep\b|\b(kill|killall|pkill)\s+-0\b|\bps\s+(-|aux|ax|ef)|\bps\b\s*\|
        |\bsystemctl\s+(is-active|status)\b|\bservice\s+\S+\s+status\b|/proc/\d*|\bnetstat\b
        |\bss\s+-\w*l|\blsof\b|\bnc\s+-z\b|\.pid\b|\bpsutil\b|\bos\.kill\b|\bprocess_iter\b
        |\bgrep\b[^\n]{0,200}?\bmysqld?\b)""",
    re.IGNORECASE | re.VERBOSE,
)


MAX_SCRIPT = 1 << 20  # a health check is a few KB; read at most this much of one


def script_path(command: str | None) -> str | None:
    """The program a vrrp_script `script` runs (its first word), when it is a path."""
    if not command:
        return None
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    return words[0] if words and words[0].startswith("/") else None


def strip_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(("#", "//")))


def classify(command: str, text: str | None) -> str:
    """'query' | 'process' | 'unknown' for a check command and the script file's text."""
    body = strip_comments((text or "")[:MAX_SCRIPT]) + "\n" + command[:MAX_SCRIPT]
    if _QUERY.search(body):
        return "query"
    if _PROCESS.search(body):
        return "process"
    return "unknown"
