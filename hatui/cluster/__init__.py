"""The cluster file (`hatui --cluster prod.yml`): model, loader with located errors, secrets.

cluster = load_cluster("prod.yml")        # raises ClusterFileError listing every problem
for w in cluster.warnings: print(w)       # e.g. inline passwords
password = resolve_password(cluster.nodes["db1"].mysql.monitor)   # SecretError if unavailable
"""

from hatui.cluster.errors import ClusterFileError, Problem, Severity
from hatui.cluster.loader import load_cluster, load_cluster_text
from hatui.cluster.model import (
    Account,
    AlertLevel,
    Cluster,
    Hook,
    JumpHost,
    KeepalivedConfig,
    KeepalivedLog,
    MysqlConfig,
    MysqlVia,
    Node,
    Notify,
    NotifyKind,
    RateLimit,
    Role,
    RouterConfig,
    RouterKind,
    SshConfig,
    Thresholds,
    Topology,
    Vip,
    VipRole,
)
from hatui.cluster.secrets import InsecureSecretFileWarning, SecretError, parse_option_file, resolve_password

__all__ = [
    "Account",
    "AlertLevel",
    "Cluster",
    "ClusterFileError",
    "Hook",
    "InsecureSecretFileWarning",
    "JumpHost",
    "KeepalivedConfig",
    "KeepalivedLog",
    "MysqlConfig",
    "MysqlVia",
    "Node",
    "Notify",
    "NotifyKind",
    "Problem",
    "RateLimit",
    "Role",
    "RouterConfig",
    "RouterKind",
    "SecretError",
    "Severity",
    "SshConfig",
    "Thresholds",
    "Topology",
    "Vip",
    "VipRole",
    "load_cluster",
    "load_cluster_text",
    "parse_option_file",
    "resolve_password",
]
