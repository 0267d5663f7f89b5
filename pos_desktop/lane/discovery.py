"""Find the store server on the LAN by its mDNS advertisement (no Qt, no database)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from zeroconf import IPVersion, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from pos_core.errors import PosError
from pos_core.protocol import MDNS_SERVICE_TYPE, PROTOCOL_VERSION, REGISTER_PATH

log = logging.getLogger(__name__)


class StoreNotFound(PosError):
    """No store server answered on the network in time."""


@dataclass(frozen=True, slots=True)
class DiscoveredStore:
    store_id: str
    name: str
    host: str
    port: int

    @property
    def url(self) -> str:
        """The websocket base URL, e.g. ``ws://127.0.0.1:8765`` (append ``/register`` or ``/feed``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}"

    @property
    def register_url(self) -> str:
        return self.url + REGISTER_PATH


def _text(props: dict[bytes, bytes | None], key: str) -> str:
    value = props.get(key.encode())
    return value.decode(errors="replace") if value else ""


async def find_store(
    interface: str | None,
    timeout: float = 10.0,  # noqa: ASYNC109 - the CLI's discovery wait is a plain number of seconds
    store_id: str | None = None,
) -> DiscoveredStore:
    """Browse for ``_pos-store._tcp.local.`` and return the first store speaking our protocol.

    Args:
        interface: a local IPv4 address to browse on (``127.0.0.1`` keeps it on this machine);
            ``None`` browses on every interface.
        timeout: seconds to wait before giving up.
        store_id: only accept this store, when several share a network.

    Raises:
        StoreNotFound: nothing suitable answered within ``timeout``.
    """
    azc = (
        AsyncZeroconf(interfaces=[interface], ip_version=IPVersion.V4Only)
        if interface
        else AsyncZeroconf(ip_version=IPVersion.V4Only)
    )
    names: asyncio.Queue[str] = asyncio.Queue()

    def on_change(zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        if state_change in (ServiceStateChange.Added, ServiceStateChange.Updated):
            names.put_nowait(name)

    browser = AsyncServiceBrowser(azc.zeroconf, MDNS_SERVICE_TYPE, handlers=[on_change])
    try:
        async with asyncio.timeout(timeout):
            while True:
                name = await names.get()
                found = await _resolve(azc, name)
                if found is None or (store_id and found.store_id != store_id):
                    continue
                log.info("found store %r at %s", found.name, found.url)
                return found
    except TimeoutError:
        where = f"on {interface}" if interface else "on this network"
        raise StoreNotFound(
            f"No store server answered {where} within {timeout:g} s; is `pos store serve` running? "
            "Or pass --server ws://HOST:PORT."
        ) from None
    finally:
        await browser.async_cancel()
        await azc.async_close()


async def _resolve(azc: AsyncZeroconf, name: str) -> DiscoveredStore | None:
    info = AsyncServiceInfo(MDNS_SERVICE_TYPE, name)
    if not await info.async_request(azc.zeroconf, 3000):
        return None
    props = info.properties
    if _text(props, "proto") != str(PROTOCOL_VERSION):
        log.warning(
            "ignoring store %r: it speaks protocol %r, we speak %s", name, _text(props, "proto"), PROTOCOL_VERSION
        )
        return None
    addresses = info.parsed_addresses(IPVersion.V4Only)
    if not addresses or info.port is None:
        return None
    return DiscoveredStore(_text(props, "store_id"), _text(props, "name") or name, addresses[0], info.port)
