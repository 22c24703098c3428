"""The keywords keepalived 2.x accepts in each block of keepalived.conf (as far as hatui knows).

Used for three things: naming an unknown keyword (with a "did you mean"), telling which blocks
hold entries rather than statements, and finding where statements start on a line whose line
breaks were lost (seed 003's flattened configs).
"""

from __future__ import annotations

TOP = frozenset(
    [
        "child_wait_time",
        "global_defs",
        "vrrp_script",
        "track_file",
        "vrrp_track_file",
        "vrrp_instance",
        "vrrp_sync_group",
        "virtual_server",
        "virtual_server_group",
        "static_ipaddress",
        "static_routes",
        "static_rules",
        "linkbeat_interfaces",
        "garp_group",
        "track_process",
        "vrrp_track_process",
        "bfd_instance",
        "net_namespace",
        "instance",
        "use_pid_dir",
        "include",
    ]
)

GLOBAL_DEFS = frozenset(
    [
        "nftables",
        "nftables_counters",
        "reload_repeat",
        "reload_file",
        "min_auto_priority_delay",
        "no_checker_emails",
        "notification_email",
        "notification_email_from",
        "smtp_server",
        "smtp_helo_name",
        "smtp_connect_timeout",
        "router_id",
        "vrrp_mcast_group4",
        "vrrp_mcast_group6",
        "vrrp_garp_master_delay",
        "vrrp_garp_master_repeat",
        "vrrp_garp_master_refresh",
        "vrrp_garp_master_refresh_repeat",
        "vrrp_garp_lower_prio_delay",
        "vrrp_garp_lower_prio_repeat",
        "vrrp_garp_interval",
        "vrrp_gna_interval",
        "vrrp_min_garp",
        "vrrp_lower_prio_no_advert",
        "vrrp_higher_prio_send_advert",
        "vrrp_version",
        "vrrp_iptables",
        "vrrp_ipsets",
        "vrrp_check_unicast_src",
        "vrrp_skip_check_adv_addr",
        "vrrp_strict",
        "vrrp_priority",
        "checker_priority",
        "bfd_priority",
        "vrrp_no_swap",
        "checker_no_swap",
        "bfd_no_swap",
        "vrrp_rt_priority",
        "checker_rt_priority",
        "bfd_rt_priority",
        "vrrp_rlimit_rttime",
        "checker_rlimit_rttime",
        "vrrp_cpu_affinity",
        "checker_cpu_affinity",
        "script_user",
        "enable_script_security",
        "notify_fifo",
        "notify_fifo_script",
        "vrrp_notify_fifo",
        "vrrp_notify_fifo_script",
        "lvs_notify_fifo",
        "lvs_notify_fifo_script",
        "lvs_timeouts",
        "lvs_sync_daemon",
        "lvs_flush",
        "lvs_flush_onstop",
        "dynamic_interfaces",
        "max_auto_priority",
        "vrrp_startup_delay",
        "enable_dbus",
        "dbus_service_name",
        "enable_snmp_vrrp",
        "enable_snmp_checker",
        "enable_snmp_rfc",
        "enable_snmp_rfcv2",
        "enable_snmp_rfcv3",
        "enable_snmp_keepalived",
        "snmp_socket",
        "enable_traps",
        "vrrp_netlink_cmd_rcv_bufs",
        "vrrp_netlink_cmd_rcv_bufs_force",
        "vrrp_netlink_monitor_rcv_bufs",
        "vrrp_netlink_monitor_rcv_bufs_force",
        "process_names",
        "process_name",
        "vrrp_process_name",
        "checker_process_name",
        "bfd_process_name",
        "vrrp_garp_extra_if",
        "smtp_alert",
        "smtp_alert_vrrp",
        "smtp_alert_checker",
        "no_email_faults",
        "startup_script",
        "startup_script_timeout",
        "shutdown_script",
        "shutdown_script_timeout",
        "default_interface",
        "random_seed",
        "reload_check_config",
        "reload_time_file",
        "tmp_config_directory",
        "lvs_id",
        "vrrp_socket_rcv_buf",
        "checker_log_all_failures",
        "umask",
        "vrrp_track_process",
        "vrrp_version",
        "vrrp_rx_bufs_policy",
        "vrrp_rx_bufs_multiplier",
        "fifo_write_vrrp_states_on_reload",
    ]
)

VRRP_SCRIPT = frozenset(["script", "interval", "timeout", "weight", "rise", "fall", "user", "init_fail"])
TRACK_FILE_DEF = frozenset(["file", "weight", "init_file"])
AUTHENTICATION = frozenset(["auth_type", "auth_pass"])

VRRP_INSTANCE = frozenset(
    [
        "mcast_dst_ip",
        "promote_secondaries",
        "garp_extra_if",
        "vrf",
        "state",
        "interface",
        "virtual_router_id",
        "priority",
        "advert_int",
        "authentication",
        "virtual_ipaddress",
        "virtual_ipaddress_excluded",
        "virtual_routes",
        "virtual_rules",
        "track_script",
        "track_interface",
        "track_file",
        "track_process",
        "track_bfd",
        "nopreempt",
        "preempt",
        "preempt_delay",
        "unicast_src_ip",
        "unicast_peer",
        "unicast_ttl",
        "unicast_fault_no_peer",
        "mcast_src_ip",
        "dont_track_primary",
        "use_vmac",
        "vmac_xmit_base",
        "native_ipv6",
        "accept",
        "no_accept",
        "notify_master",
        "notify_backup",
        "notify_fault",
        "notify_stop",
        "notify",
        "notify_master_rx_lower_pri",
        "notify_deleted",
        "smtp_alert",
        "garp_master_delay",
        "garp_master_repeat",
        "garp_master_refresh",
        "garp_master_refresh_repeat",
        "garp_lower_prio_delay",
        "garp_lower_prio_repeat",
        "lower_prio_no_advert",
        "higher_prio_send_advert",
        "version",
        "strict_mode",
        "skip_check_adv_addr",
        "check_unicast_src",
        "debug",
        "linkbeat_use_polling",
        "kernel_rx_buf_size",
        "notify_priority_changes",
        "use_ipvlan",
        "old_unicast_checksum",
        "vrrp_track_process",
    ]
)

SYNC_GROUP = frozenset(
    [
        "group",
        "notify_master",
        "notify_backup",
        "notify_fault",
        "notify_stop",
        "notify",
        "smtp_alert",
        "global_tracking",
        "sync_group_tracking_weight",
        "track_script",
        "track_interface",
        "track_file",
        "track_process",
        "track_bfd",
    ]
)

VIRTUAL_SERVER = frozenset(
    [
        "snmp_name",
        "delay_loop",
        "lb_algo",
        "lvs_sched",
        "lb_kind",
        "lvs_method",
        "persistence_timeout",
        "persistence_granularity",
        "persistence_engine",
        "protocol",
        "sorry_server",
        "sorry_server_inhibit",
        "sorry_server_lvs_method",
        "real_server",
        "virtualhost",
        "alpha",
        "omega",
        "quorum",
        "quorum_up",
        "quorum_down",
        "hysteresis",
        "ha_suspend",
        "ops",
        "inhibit_on_failure",
        "retry",
        "delay_before_retry",
        "warmup",
        "connect_timeout",
        "ip_family",
        "smtp_alert",
        "one_packet_scheduling",
        "mh-port",
        "mh-fallback",
        "hash_small",
    ]
)

CHECKS = frozenset(
    [
        "TCP_CHECK",
        "HTTP_GET",
        "SSL_GET",
        "MISC_CHECK",
        "SMTP_CHECK",
        "DNS_CHECK",
        "BFD_CHECK",
        "UDP_CHECK",
        "PING_CHECK",
        "FILE_CHECK",
    ]
)

REAL_SERVER = (
    frozenset(
        [
            "weight",
            "inhibit_on_failure",
            "notify_up",
            "notify_down",
            "uthreshold",
            "lthreshold",
            "alpha",
            "omega",
            "retry",
            "delay_before_retry",
            "warmup",
            "delay_loop",
            "connect_timeout",
            "smtp_alert",
            "virtualhost",
            "lvs_method",
            "snmp_name",
        ]
    )
    | CHECKS
)

CHECK = frozenset(
    [
        "log_all_failures",
        "connect_timeout",
        "connect_port",
        "connect_ip",
        "bindto",
        "bind_port",
        "bind_if",
        "retry",
        "nb_get_retry",
        "delay_before_retry",
        "warmup",
        "delay_loop",
        "fwmark",
        "url",
        "misc_path",
        "misc_timeout",
        "misc_dynamic",
        "user",
        "virtualhost",
        "helo_name",
        "host",
        "type",
        "name",
        "fs_type",
        "file_path",
        "track_file",
        "require_reply",
        "payload",
    ]
)

URL = frozenset(
    [
        "path",
        "digest",
        "status_code",
        "virtualhost",
        "regex",
        "regex_no_match",
        "regex_options",
        "regex_stack",
        "regex_min_offset",
        "regex_max_offset",
    ]
)

# Blocks whose lines are entries (an address, a script name, ...), not keyword statements.
LIST_BLOCKS = frozenset(
    [
        "virtual_ipaddress",
        "virtual_ipaddress_excluded",
        "virtual_routes",
        "virtual_rules",
        "track_script",
        "track_interface",
        "track_process",
        "track_bfd",
        "unicast_peer",
        "notification_email",
        "group",
        "static_ipaddress",
        "static_routes",
        "static_rules",
        "linkbeat_interfaces",
        "process_names",
    ]
)

# keyword of a block (by its parent) -> what may appear inside it
BLOCK_KEYWORDS: dict[tuple[str, str], frozenset[str]] = {
    ("", "global_defs"): GLOBAL_DEFS,
    ("", "vrrp_script"): VRRP_SCRIPT,
    ("", "track_file"): TRACK_FILE_DEF,
    ("", "vrrp_track_file"): TRACK_FILE_DEF,
    ("", "vrrp_instance"): VRRP_INSTANCE,
    ("", "vrrp_sync_group"): SYNC_GROUP,
    ("", "virtual_server"): VIRTUAL_SERVER,
    ("vrrp_instance", "authentication"): AUTHENTICATION,
    ("virtual_server", "real_server"): REAL_SERVER,
    ("real_server", "url"): URL,
    **{("real_server", c): CHECK for c in CHECKS},
}

# Inside a vrrp_instance or sync group, track_file lists files to track (like track_script).
LIST_IN_INSTANCE = frozenset({"track_file"})

# Every keyword, for finding statement starts glued to the previous word on a flattened line.
# Short words ("dev", "path" is 4) are only split when they are keywords of 4+ letters.
ALL = (
    TOP
    | GLOBAL_DEFS
    | VRRP_SCRIPT
    | TRACK_FILE_DEF
    | AUTHENTICATION
    | VRRP_INSTANCE
    | SYNC_GROUP
    | VIRTUAL_SERVER
    | REAL_SERVER
    | CHECK
    | URL
)
GLUE = frozenset(k for k in ALL if len(k) >= 4)


# Keywords keepalived still reads but reports as deprecated (keepalived 2.2.8 vrrp_parser.c):
# keyword -> what to use instead
DEPRECATED = {
    "lvs_sync_daemon_interface": "global_defs' lvs_sync_daemon (keepalived says so at every start)",
}


def block_keywords(parent: str, keyword: str) -> frozenset[str] | None:
    """Keywords allowed inside block `keyword` under `parent` ("" at top); None: unknown or a list."""
    if keyword in LIST_BLOCKS or (keyword in LIST_IN_INSTANCE and parent in ("vrrp_instance", "vrrp_sync_group")):
        return None
    return BLOCK_KEYWORDS.get((parent, keyword))


def is_list_block(parent: str, keyword: str) -> bool:
    return keyword in LIST_BLOCKS or (keyword in LIST_IN_INSTANCE and parent in ("vrrp_instance", "vrrp_sync_group"))
