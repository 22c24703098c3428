"""The lab's network, built with pyroute2: one bridge namespace, one veth per host into it."""

from __future__ import annotations

from pyroute2 import IPRoute, netns

BRIDGE = "br0"


def bridge_port(host: str) -> str:
    """The bridge-side end of a host's veth (max 15 chars for an interface name)."""
    return f"v-{host}"[:15]


def existing(names: list[str]) -> list[str]:
    have = set(netns.listnetns())
    return [n for n in names if n in have]


def create_namespace(name: str) -> None:
    netns.create(name)


def remove_namespace(name: str) -> None:
    if name in netns.listnetns():
        netns.remove(name)


def create_bridge(bridge_ns: str) -> None:
    with IPRoute(netns=bridge_ns, flags=0) as ipr:
        ipr.link("add", ifname=BRIDGE, kind="bridge")
        idx = ipr.link_lookup(ifname=BRIDGE)[0]
        # no STP and no forwarding delay: ports forward the moment they come up
        ipr.link("set", index=idx, br_stp_state=0, br_forward_delay=0)
        ipr.link("set", index=idx, state="up")
        ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")


def attach_host(bridge_ns: str, host: str, host_ns: str, address: str, prefixlen: int) -> None:
    """A veth pair: `v-HOST` on the bridge, `eth0` in the host's namespace with its address."""
    port = bridge_port(host)
    with IPRoute(netns=bridge_ns, flags=0) as ipr:
        ipr.link("add", ifname=port, kind="veth", peer={"ifname": "eth0", "net_ns_fd": host_ns})
        pidx = ipr.link_lookup(ifname=port)[0]
        ipr.link("set", index=pidx, master=ipr.link_lookup(ifname=BRIDGE)[0], state="up")
    with IPRoute(netns=host_ns, flags=0) as ipr:
        eth = ipr.link_lookup(ifname="eth0")[0]
        ipr.addr("add", index=eth, address=address, prefixlen=prefixlen)
        ipr.link("set", index=eth, state="up")
        ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")


def set_partitioned(bridge_ns: str, host: str, cut: bool) -> None:
    """Cut a host off the bridge (or put it back). The link stays up on the host's side, as when
    a switch upstream fails: keepalived sees no carrier loss, so both masters can claim the VIP."""
    with IPRoute(netns=bridge_ns, flags=0) as ipr:
        pidx = ipr.link_lookup(ifname=bridge_port(host))[0]
        master = 0 if cut else ipr.link_lookup(ifname=BRIDGE)[0]
        ipr.link("set", index=pidx, master=master)


def is_partitioned(bridge_ns: str, host: str) -> bool:
    with IPRoute(netns=bridge_ns, flags=0) as ipr:
        found = ipr.link_lookup(ifname=bridge_port(host))
        if not found:
            return True
        link = ipr.get_links(found[0])[0]
        return not link.get_attr("IFLA_MASTER")


def addresses(host_ns: str, ifname: str = "eth0") -> list[str]:
    with IPRoute(netns=host_ns, flags=0) as ipr:
        found = ipr.link_lookup(ifname=ifname)
        if not found:
            return []
        return [a.get_attr("IFA_ADDRESS") for a in ipr.get_addr(index=found[0], family=2)]


def pids_in(names: list[str]) -> dict[str, list[int]]:
    """Processes whose network namespace is one of ours, by namespace name."""
    found = netns.ns_pids()
    return {n: [int(p) for p in found.get(n, [])] for n in names}
