"""Locations, and transfers between them: sent (on hand -> transit), then received.

A transfer's id is the ``transfer_out`` request's id. Receiving may come in parts, each
at most what is still outstanding per SKU; the transfer is ``received`` when nothing is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Self

from sqlalchemy import select
from sqlalchemy.orm import Session

from pos_core.inventory import Reason, StockLine, demand_by_sku
from store_server.db.models import FeedState, Location, Transfer, TransferLine
from store_server.errors import BadRequest, QuantityRefused, UnknownTransfer
from store_server.usecases import checks
from store_server.usecases.clock import now_iso
from store_server.usecases.posting import Posting
from store_server.usecases.requests import command_request, run_once
from store_server.usecases.stock import level_wire
from store_server.usecases.stock_ops import within_on_hand

IN_TRANSIT = "in_transit"
RECEIVED = "received"


_LOCATION_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


def add_location(session: Session, code: str, name: str) -> None:
    """Add a location (a back room, a warehouse, another store); nothing if it exists.

    Raises:
        BadRequest: the code is not small letters, digits, '-' or '_' (so ``backroom`` and
            ``BackRoom`` cannot both exist), or the name is empty or too long.
    """
    checks.text(code, "location code", 64)
    if not _LOCATION_CODE.fullmatch(code):
        raise BadRequest(f"A location code is 1 to 64 small letters, digits, '-' or '_', e.g. backroom; not {code!r}.")
    checks.text(name, "location name")
    if session.get(Location, code) is None:
        session.add(Location(code=code, name=name))
        session.flush()


@dataclass(frozen=True, slots=True)
class TransferOut:
    request_id: str
    """Also the transfer's id."""
    actor: str
    from_location: str
    to_location: str
    lines: tuple[StockLine, ...]


@dataclass(frozen=True, slots=True)
class TransferIn:
    request_id: str
    actor: str
    transfer_id: str
    lines: tuple[StockLine, ...]
    """What arrived, per SKU; at most what is still outstanding."""


@dataclass(frozen=True, slots=True)
class TransferResult:
    transfer_id: str
    status: str
    from_location: str
    to_location: str
    lines: tuple[dict[str, Any], ...]
    """``{"sku", "sent", "received"}`` per SKU."""
    levels: tuple[dict[str, Any], ...]
    exceptions: tuple[str, ...] = ()
    duplicate: bool = False

    def to_wire(self) -> dict[str, Any]:
        return {
            "transfer_id": self.transfer_id,
            "status": self.status,
            "from_location": self.from_location,
            "to_location": self.to_location,
            "lines": list(self.lines),
            "levels": list(self.levels),
            "exceptions": list(self.exceptions),
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Self:
        return cls(
            data["transfer_id"],
            data["status"],
            data["from_location"],
            data["to_location"],
            tuple(data["lines"]),
            tuple(data["levels"]),
            tuple(data["exceptions"]),
        )


def transfer_out(session: Session, cmd: TransferOut) -> TransferResult:
    """Send goods: on hand -> transit at ``from_location``, per SKU.

    Raises:
        BadRequest: the two locations are the same.
        QuantityRefused: a SKU's quantity is out of range, or more than the books say is on
            hand at ``from_location``; nothing is written.
        UnknownSku, UnknownLocation: nothing is written.
        IdempotencyConflict: the request id was used for other content.
    """
    checks.document_id(cmd.request_id, "transfer id")
    lines = checks.lines(cmd.lines, "transfer")
    if cmd.from_location == cmd.to_location:
        raise BadRequest("A transfer needs two different locations; pick where the goods go.")
    checks.known_location(session, cmd.from_location)
    checks.known_location(session, cmd.to_location)
    checks.known_skus(session, (line.sku for line in lines))

    def run(state: FeedState) -> TransferResult:
        transfer = Transfer(
            id=cmd.request_id,
            from_location=cmd.from_location,
            to_location=cmd.to_location,
            status=IN_TRANSIT,
            actor=cmd.actor,
            created_at=now_iso(),
        )
        session.add(transfer)
        session.flush()
        posting = _posting(session, state, transfer, f"transfer.out:{cmd.request_id}", cmd.actor)
        demand = demand_by_sku(lines)
        within_on_hand(posting, demand, cmd.from_location)
        for sku, quantity in demand.items():
            session.add(TransferLine(transfer_id=transfer.id, sku=sku, sent=quantity, received=0))
            posting.move(sku, quantity, Reason.TRANSFER_OUT, location=cmd.from_location)
        return _result(session, transfer, posting)

    return run_once(session, command_request("stock.transfer_out", cmd), TransferResult, run)


def transfer_in(session: Session, cmd: TransferIn) -> TransferResult:
    """Receive (part of) a transfer: transit -> on hand at its ``to_location``, per SKU.

    Raises:
        UnknownTransfer: no transfer with that id.
        QuantityRefused: a SKU is not on the transfer, or more arrived than is outstanding.
        IdempotencyConflict: the request id was used for other content.
    """
    checks.document_id(cmd.request_id, "request id")
    lines = checks.lines(cmd.lines, "delivery")

    def run(state: FeedState) -> TransferResult:
        transfer = session.get(Transfer, cmd.transfer_id)
        if transfer is None:
            raise UnknownTransfer(f"There is no transfer {cmd.transfer_id}; check the id on the delivery note.")
        sent = {
            tl.sku: tl for tl in session.scalars(select(TransferLine).where(TransferLine.transfer_id == transfer.id))
        }
        posting = _posting(session, state, transfer, f"transfer.in:{cmd.request_id}", cmd.actor)
        for sku, quantity in demand_by_sku(lines).items():
            line = sent.get(sku)
            if line is None:
                raise QuantityRefused(f"Transfer {transfer.id} carries no {sku}; book it as a receipt instead.")
            outstanding = line.sent - line.received
            if quantity > outstanding:
                more = f"at most {outstanding} more can arrive" if outstanding else "all of it has arrived"
                raise QuantityRefused(
                    f"Transfer {transfer.id} sent {line.sent} of {sku} and {line.received} arrived already; {more}."
                )
            line.received += quantity
            posting.move(sku, quantity, Reason.TRANSFER_IN, location=transfer.to_location)
        if all(tl.received == tl.sent for tl in sent.values()):
            transfer.status = RECEIVED
        return _result(session, transfer, posting)

    return run_once(session, command_request("stock.transfer_in", cmd), TransferResult, run)


def _posting(session: Session, state: FeedState, transfer: Transfer, key: str, actor: str) -> Posting:
    return Posting(session, state, document_type="transfer", document_id=transfer.id, key=key, actor=actor)


def _result(session: Session, transfer: Transfer, posting: Posting) -> TransferResult:
    exceptions = posting.close()
    session.flush()
    lines = session.scalars(
        select(TransferLine).where(TransferLine.transfer_id == transfer.id).order_by(TransferLine.sku)
    )
    return TransferResult(
        transfer.id,
        transfer.status,
        transfer.from_location,
        transfer.to_location,
        tuple({"sku": tl.sku, "sent": tl.sent, "received": tl.received} for tl in lines),
        tuple(level_wire(lv) for lv in posting.levels),
        tuple(exceptions),
    )
