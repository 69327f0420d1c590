"""Whether the machine has a way out, read from the kernel's routing table over rtnetlink (Linux).

This is what tells the keeper that "the network is back". It replaces Qt's
QNetworkInformation, whose Linux backend (GLib's GIO network monitor) cost QtNetwork, GIO and a
thread of their own, about 6 MiB resident for one boolean. Here one ``AF_NETLINK`` socket
subscribes to link and route changes; the caller watches its descriptor (a QSocketNotifier)
and calls :meth:`RouteWatch.read` when it is readable. No thread, no timer: the process wakes
only when links or routes change (wireless drivers also report scans as link messages; those
cost a read and change nothing).

The rule is the one GIO's monitor uses, made stricter about dead links: the network is
*reachable* while the main table has a usable default route, IPv4 or IPv6: a unicast route
to 0.0.0.0/0 or ::/0, not marked dead or link-down, whose outgoing link (when the route
names one) is up and running (has carrier). A link that loses carrier keeps its routes in
the kernel, marked link-down; both marks are honoured, so a pulled cable reads as offline
and plugging it back in as "back".

At start the link table and then the route table are read (two dumps, one after the other,
on the same socket, answered through :meth:`RouteWatch.read` like any change); until both
are in, the state is unknown (None). When the kernel drops messages because the socket's
buffer overflowed (``ENOBUFS``), both tables are read again.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

NETLINK_ROUTE = 0
RTMGRP_LINK = 0x1
RTMGRP_IPV4_ROUTE = 0x40
RTMGRP_IPV6_ROUTE = 0x400
GROUPS = RTMGRP_LINK | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE

NLMSG_ERROR, NLMSG_DONE, NLMSG_OVERRUN = 2, 3, 4
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE = 24, 25, 26
NLM_F_REQUEST, NLM_F_REPLACE, NLM_F_DUMP = 0x1, 0x100, 0x300

IFF_UP, IFF_RUNNING = 0x1, 0x40
RT_TABLE_MAIN = 254
RTN_UNICAST = 1
RTNH_F_DEAD, RTNH_F_LINKDOWN = 0x1, 0x10
RTA_OIF, RTA_MULTIPATH, RTA_PRIORITY, RTA_TABLE = 4, 9, 6, 15

_HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, sequence, port
_IFINFO = struct.Struct("=BxHiII")  # ifinfomsg: family, type, index, flags, change
_RTMSG = struct.Struct("=BBBBBBBBI")  # rtmsg: family, dst_len, src_len, tos, table, ..., flags
_ERRNO = struct.Struct("=i")
_ATTR = struct.Struct("=HH")
_NEXTHOP = struct.Struct("=HBBi")  # rtnexthop: length, flags, hops, ifindex
_U32 = struct.Struct("=I")
READ_SIZE = 65536
_LINK_DUMP, _ROUTE_DUMP = 1, 2


def _align(length: int) -> int:
    return (length + 3) & ~3


@dataclass(frozen=True, slots=True)
class Message:
    """One netlink message: its type, flags, sequence number and payload."""

    kind: int
    flags: int
    sequence: int
    payload: bytes


def messages(data: bytes) -> Iterator[Message]:
    """The messages in one datagram; a truncated tail is dropped (the kernel never sends one)."""
    offset = 0
    while offset + _HEADER.size <= len(data):
        length, kind, flags, sequence, _port = _HEADER.unpack_from(data, offset)
        if length < _HEADER.size or offset + length > len(data):
            return
        yield Message(kind, flags, sequence, data[offset + _HEADER.size : offset + length])
        offset += _align(length)


def _attributes(data: bytes, offset: int) -> dict[int, bytes]:
    found: dict[int, bytes] = {}
    while offset + _ATTR.size <= len(data):
        length, kind = _ATTR.unpack_from(data, offset)
        if length < _ATTR.size or offset + length > len(data):
            break
        found[kind & 0x3FFF] = data[offset + _ATTR.size : offset + length]
        offset += _align(length)
    return found


def _u32(value: bytes | None) -> int | None:
    return _U32.unpack_from(value)[0] if value is not None and len(value) >= 4 else None


@dataclass(frozen=True, slots=True)
class DefaultRoute:
    """A default route as far as reachability goes: where it leaves and whether it may be used."""

    family: int
    metric: int | None
    links: tuple[int, ...]
    """The outgoing links (several for a multipath route); empty when the route names none."""
    usable: bool
    """Neither dead nor link-down, on at least one next hop."""


def default_route(message: Message) -> tuple[tuple[object, ...], DefaultRoute] | None:
    """The key and the route, if ``message`` is a unicast default route in the main table."""
    if len(message.payload) < _RTMSG.size:
        return None
    family, dst_len, _src, tos, table, _proto, _scope, kind, flags = _RTMSG.unpack_from(
        message.payload
    )
    attributes = _attributes(message.payload, _RTMSG.size)
    table = _u32(attributes.get(RTA_TABLE)) or table
    if dst_len != 0 or kind != RTN_UNICAST or table != RT_TABLE_MAIN:
        return None
    metric = _u32(attributes.get(RTA_PRIORITY))
    hops = [(flags, _u32(attributes.get(RTA_OIF)))]
    if RTA_MULTIPATH in attributes:
        hops = list(_next_hops(attributes[RTA_MULTIPATH], flags))
    links = tuple(link for _flags, link in hops if link)
    usable = any(not hop_flags & (RTNH_F_DEAD | RTNH_F_LINKDOWN) for hop_flags, _ in hops)
    key = (family, tos, metric, links)
    return key, DefaultRoute(family, metric, links, usable)


def _next_hops(data: bytes, route_flags: int) -> Iterator[tuple[int, int | None]]:
    offset = 0
    while offset + _NEXTHOP.size <= len(data):
        length, flags, _hops, index = _NEXTHOP.unpack_from(data, offset)
        if length < _NEXTHOP.size:
            return
        yield route_flags | flags, index or None
        offset += _align(length)


@dataclass
class Tables:
    """What the kernel said so far: which links run, which default routes exist."""

    running: dict[int, bool] = field(default_factory=dict)
    routes: dict[tuple[object, ...], DefaultRoute] = field(default_factory=dict)

    def apply(self, message: Message) -> None:
        if message.kind in (RTM_NEWLINK, RTM_DELLINK) and len(message.payload) >= _IFINFO.size:
            _family, _type, index, flags, _change = _IFINFO.unpack_from(message.payload)
            if message.kind == RTM_DELLINK:
                self.running.pop(index, None)
            else:
                self.running[index] = flags & (IFF_UP | IFF_RUNNING) == IFF_UP | IFF_RUNNING
        elif message.kind in (RTM_NEWROUTE, RTM_DELROUTE):
            found = default_route(message)
            if found is None:
                return
            key, route = found
            if message.kind == RTM_DELROUTE:
                self.routes.pop(key, None)
                return
            if message.flags & NLM_F_REPLACE:
                for old in [k for k, r in self.routes.items() if k[:3] == key[:3]]:
                    del self.routes[old]
            self.routes[key] = route

    @property
    def reachable(self) -> bool:
        """A usable default route whose links (if it names any) include one that runs."""
        return any(
            route.usable
            and (not route.links or any(self.running.get(link, False) for link in route.links))
            for route in self.routes.values()
        )


class RouteWatch:
    """The netlink socket and the tables read from it; see the module's docstring."""

    def __init__(self) -> None:
        """OSError where rtnetlink is missing (not Linux, or a sandbox that forbids it)."""
        family = getattr(socket, "AF_NETLINK", None)
        if family is None:
            raise OSError(errno.EAFNOSUPPORT, "no netlink sockets on this platform")
        self._socket = socket.socket(family, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
        try:
            self._socket.setblocking(False)
            self._socket.bind((0, GROUPS))
        except OSError:
            self._socket.close()
            raise
        self._tables = Tables()
        self._dumping: int | None = None
        self._sequence = 0
        self._request_dumps()

    def fileno(self) -> int:
        return self._socket.fileno()

    @property
    def reachable(self) -> bool | None:
        """None until both tables are in (and while they are read again after an overflow)."""
        return None if self._dumping is not None else self._tables.reachable

    def read(self) -> bool | None:
        """Take in whatever the kernel sent, without blocking; the state after it."""
        while True:
            try:
                data = self._socket.recv(READ_SIZE)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno != errno.ENOBUFS:
                    raise
                log.debug("netlink buffer overflowed: reading the tables again")
                self._request_dumps()
                continue
            for message in messages(data):
                self._take(message)
        return self.reachable

    def close(self) -> None:
        self._socket.close()

    def _take(self, message: Message) -> None:
        if message.kind in (NLMSG_DONE, NLMSG_ERROR) and message.sequence == self._sequence:
            if message.kind == NLMSG_ERROR and _ERRNO.unpack_from(message.payload)[0] != 0:
                code = -_ERRNO.unpack_from(message.payload)[0]
                log.debug("netlink dump refused: %s", os.strerror(code))
            if self._dumping == _LINK_DUMP:
                self._send_dump(_ROUTE_DUMP)
            elif self._dumping is not None:
                self._dumping = None
            return
        if message.kind == NLMSG_OVERRUN:
            self._request_dumps()
            return
        self._tables.apply(message)

    def _request_dumps(self) -> None:
        self._tables = Tables()
        self._send_dump(_LINK_DUMP)

    def _send_dump(self, which: int) -> None:
        self._sequence += 1
        self._dumping = which
        if which == _LINK_DUMP:
            kind, body = RTM_GETLINK, _IFINFO.pack(socket.AF_UNSPEC, 0, 0, 0, 0)
        else:
            kind, body = RTM_GETROUTE, _RTMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0, 0, 0, 0, 0)
        header = _HEADER.pack(
            _HEADER.size + len(body), kind, NLM_F_REQUEST | NLM_F_DUMP, self._sequence, 0
        )
        self._socket.send(header + body)
