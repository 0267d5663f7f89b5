"""Advertise the store server on the LAN by mDNS/DNS-SD (``_pos-store._tcp.local.``)."""

from __future__ import annotations

import logging
import socket

from zeroconf import IPVersion, NonUniqueNameException
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from pos_core.protocol import MDNS_SERVICE_TYPE, PROTOCOL_VERSION, REGISTER_PATH
from store_server.errors import StoreError

log = logging.getLogger(__name__)


class AdvertisingFailed(StoreError):
    """The mDNS advertisement could not be published."""


def _instance_label(name: str, store_id: str) -> str:
    # DNS labels are at most 63 bytes; the id suffix keeps two stores of one name apart.
    suffix = f" ({store_id[:8]})"
    room = 63 - len(suffix.encode())
    trimmed = name.encode()[:room].decode(errors="ignore").replace(".", " ")
    return trimmed + suffix


def _local_addresses() -> list[str]:
    """This host's IPv4 addresses, loopback last (used when advertising on every interface)."""
    import ifaddr  # zeroconf's own dependency for listing adapters

    addrs = {ip.ip for adapter in ifaddr.get_adapters() for ip in adapter.ips if isinstance(ip.ip, str)}
    return sorted(addrs, key=lambda a: (a.startswith("127."), a)) or ["127.0.0.1"]


class StoreAdvertiser:
    """Publishes one store server; ``interface`` limits mDNS to one local IPv4 address.

    Args:
        store_id: the store's UUID, published as TXT ``store_id``.
        name: the store's name, used for the instance name and TXT ``name``.
        port: the websocket port the server listens on.
        interface: ``"127.0.0.1"`` in tests and the demo so nothing leaves the machine;
            ``None`` advertises on every interface.
    """

    def __init__(self, *, store_id: str, name: str, port: int, interface: str | None) -> None:
        self._interface = interface
        addresses = [interface] if interface else _local_addresses()
        self.info = AsyncServiceInfo(
            MDNS_SERVICE_TYPE,
            f"{_instance_label(name, store_id)}.{MDNS_SERVICE_TYPE}",
            addresses=[socket.inet_aton(a) for a in addresses],
            port=port,
            properties={"store_id": store_id, "name": name, "proto": str(PROTOCOL_VERSION), "path": REGISTER_PATH},
            server=f"pos-store-{store_id[:8]}.local.",
        )
        self._zc: AsyncZeroconf | None = None

    async def start(self) -> None:
        """Publish the service.

        Raises:
            AdvertisingFailed: the network refused multicast or the name is taken.
        """
        interfaces = [self._interface] if self._interface else None
        try:
            self._zc = (
                AsyncZeroconf(interfaces=interfaces, ip_version=IPVersion.V4Only)
                if interfaces
                else AsyncZeroconf(ip_version=IPVersion.V4Only)
            )
            await self._zc.async_register_service(self.info)
        except (OSError, NonUniqueNameException) as exc:
            await self.stop()
            raise AdvertisingFailed(
                f"Could not advertise the store by mDNS ({exc}); start with --no-mdns and give registers --server."
            ) from exc
        log.info(
            "mdns advertised name=%r port=%s interface=%s", self.info.name, self.info.port, self._interface or "all"
        )

    async def stop(self) -> None:
        zc, self._zc = self._zc, None
        if zc is None:
            return
        try:
            await zc.async_unregister_service(self.info)
        except Exception:
            log.debug("mdns unregister failed", exc_info=True)
        await zc.async_close()
