"""docs/asyncapi.yaml and docs/protocol.md name every message, event and error the server speaks.

What the server sends and accepts is collected from the code (constants, and the endpoints'
and use cases' source), so a new message or error that is not documented fails here.
PyYAML comes with python-escpos, one of our dependencies.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

import store_server.errors as store_errors
from pos_core import protocol
from pos_core.tender import TENDER_KINDS
from store_server import feed_protocol, storefront_protocol

ROOT = Path(__file__).resolve().parents[2]
SPEC: dict[str, Any] = yaml.safe_load((ROOT / "docs" / "asyncapi.yaml").read_text(encoding="utf-8"))
GUIDE = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
REGISTER_SOURCE = ROOT / "store_server" / "register_endpoint.py"
STOREFRONT_SOURCE = ROOT / "store_server" / "storefront_endpoint.py"
USECASES = ROOT / "store_server" / "usecases"
NOT_FROM_REGISTER = {"unknown_exception"}
"""Raised by a manager's command in a module the sale path imports; no register request reaches it."""
NOT_FROM_STOREFRONT = {"unknown_exception", "invalid_timestamp"}
"""Raised by a manager's commands (resolving an exception, counting) in modules the storefront's
use cases import; no storefront command reaches them."""


def _resolve(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        ref: str = node["$ref"]
        assert ref.startswith("#/"), ref
        target: Any = SPEC
        for part in ref[2:].split("/"):
            target = target[part]
        node = target
    return node


def _properties(schema: Any) -> dict[str, Any]:
    """The properties of a schema, merged over ``allOf``, every ``$ref`` followed."""
    schema = _resolve(schema)
    merged: dict[str, Any] = {}
    for part in schema.get("allOf", []):
        merged.update(_properties(part))
    merged.update({k: _resolve(v) for k, v in schema.get("properties", {}).items()})
    return merged


def _types(messages: list[Any]) -> set[str]:
    return {_properties(_resolve(m)["payload"])["type"]["const"] for m in messages}


def _operations(channel: str) -> Iterator[dict[str, Any]]:
    for operation in SPEC["operations"].values():
        if _resolve(operation["channel"]) is SPEC["channels"][channel]:
            yield operation


def _received(channel: str) -> set[str]:
    return set().union(*(_types(op["messages"]) for op in _operations(channel) if op["action"] == "receive"))


def _sent(channel: str) -> set[str]:
    sent: set[str] = set()
    for op in _operations(channel):
        if op["action"] == "send":
            sent |= _types(op["messages"])
        elif "reply" in op:
            sent |= _types(op["reply"]["messages"])
    return sent


def _message(name: str) -> dict[str, Any]:
    return _properties(SPEC["components"]["messages"][name]["payload"])


def _register_messages() -> tuple[set[str], set[str]]:
    """Request types the register endpoint accepts, and reply types it sends, from its source."""
    tree = ast.parse(REGISTER_SOURCE.read_text(encoding="utf-8"))
    requests, replies = set(), {protocol.error_reply(protocol.BAD_JSON, "")["type"]}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _kind_test(node.test):
            kind = _kind_test(node.test)
            requests.add(kind)
            for inner in (n for stmt in node.body for n in ast.walk(stmt)):
                replies |= _dict_types(inner, kind)
        elif isinstance(node, ast.FunctionDef) and node.name == "welcome":
            for inner in ast.walk(node):
                replies |= _dict_types(inner, None)
    return requests, replies


def _kind_test(test: ast.expr) -> str | None:
    if (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "kind"
        and isinstance(test.ops[0], ast.Eq)
        and isinstance(test.comparators[0], ast.Constant)
    ):
        return str(test.comparators[0].value)
    return None


def _dict_types(node: ast.AST, kind: str | None) -> set[str]:
    if not isinstance(node, ast.Dict):
        return set()
    found = set()
    for key, value in zip(node.keys, node.values, strict=True):
        if isinstance(key, ast.Constant) and key.value == "type":
            if isinstance(value, ast.Constant):
                found.add(str(value.value))
            elif isinstance(value, ast.Name) and value.id == "kind" and kind is not None:
                found.add(kind)
    return found


def _register_error_codes() -> set[str]:
    """Generic codes, the codes the endpoint names, and those of refusals raised on its use-case paths."""
    tree = ast.parse(REGISTER_SOURCE.read_text(encoding="utf-8"))
    codes = {protocol.BAD_JSON, protocol.BAD_MESSAGE, protocol.UNKNOWN_TYPE, protocol.INTERNAL}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "pos_core.protocol":
            codes |= {
                getattr(protocol, a.name)
                for a in node.names
                if isinstance(getattr(protocol, a.name), str) and a.name.isupper() and a.name != "PROTOCOL_VERSION"
            }
    return (codes | _use_case_refusals(tree)) - NOT_FROM_REGISTER


def _use_case_modules(tree: ast.AST) -> set[str]:
    """The ``store_server.usecases`` modules a module imports, whether as ``from store_server.usecases.x
    import y`` or ``from store_server.usecases import x``, and the ``/register`` request handlers
    (``store_server.register_*``) it hands requests to."""
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "store_server.usecases":
            modules |= {f"{node.module}.{a.name}" for a in node.names}
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith(("store_server.usecases.", "store_server.register_"))
        ):
            modules.add(node.module)
    return modules


def _use_case_refusals(tree: ast.AST) -> set[str]:
    """The codes of refusals raised in the use-case modules ``tree`` imports, followed transitively."""
    codes: set[str] = set()
    modules, seen = _use_case_modules(tree), set()
    while modules:
        module = modules.pop()
        if module in seen:
            continue
        seen.add(module)
        source = ast.parse((ROOT / (module.replace(".", "/") + ".py")).read_text(encoding="utf-8"))
        modules |= _use_case_modules(source)
        for node in ast.walk(source):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and isinstance(node.exc.func, ast.Name):
                refusal = getattr(store_errors, node.exc.func.id, None)
                if isinstance(refusal, type) and issubclass(refusal, store_errors.RequestRefused):
                    codes.add(refusal.code)
    return codes


def _appended_events() -> set[str]:
    """Event types the use cases hand to ``append_event(session, state, kind, data)`` or to a
    write batch's ``.event(kind, data)`` or ``.encoded_event(kind, payload)`` as literals.

    Partial by design: a type passed through a variable is not seen. Guessing from every
    event-shaped string instead mistakes command names and idempotency keys for events.
    """
    names = set()
    for path in USECASES.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id == "append_event" and len(node.args) >= 3:
                kind = node.args[2]
            elif isinstance(func, ast.Attribute) and func.attr in ("event", "encoded_event") and len(node.args) == 2:
                kind = node.args[0]
            else:
                continue
            if isinstance(kind, ast.Constant):
                names.add(str(kind.value))
    return names


def test_the_document_is_asyncapi_3_and_every_reference_resolves() -> None:
    assert SPEC["asyncapi"] == "3.0.0"
    assert set(SPEC["channels"]) == {"register", "feed", "storefront"}
    assert {c["address"] for c in SPEC["channels"].values()} == {
        protocol.REGISTER_PATH,
        protocol.FEED_PATH,
        protocol.STOREFRONT_PATH,
    }

    def refs(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if "$ref" in node:
                yield node["$ref"]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    for ref in refs(SPEC):
        assert _resolve({"$ref": ref}) is not None, ref
    schemes = SPEC["components"]["securitySchemes"]
    assert all((s["type"], s["scheme"]) == ("http", "bearer") for s in schemes.values())
    for operation in SPEC["operations"].values():
        assert operation["security"], operation["summary"]


def test_every_feed_message_event_and_error_is_documented() -> None:
    assert _received("feed") == set(feed_protocol.CONSUMER_MESSAGES)
    assert _sent("feed") == set(feed_protocol.SERVER_MESSAGES)
    events = {
        _properties(_resolve(m)["payload"])["event"]["const"]
        for op in _operations("feed")
        for m in op["messages"]
        if _types([m]) == {feed_protocol.EVENT}
    }
    assert events == set(feed_protocol.EVENT_TYPES)
    assert set(_message("feedError")["code"]["enum"]) == set(feed_protocol.FEED_ERRORS)
    assert set(_message("subscribed")["snapshot_reason"]["enum"]) == {*feed_protocol.SNAPSHOT_REASONS, None}
    assert feed_protocol.FEED_PROTOCOL in _message("subscribe")["protocol"]["enum"]
    assert set(_message("heartbeat")) >= {"latest_seq", "sent_seq", "acked_seq"}


def test_every_register_message_and_error_is_documented() -> None:
    requests, replies = _register_messages()
    assert requests == {  # the scan works
        "catalogue.page", "catalogue.changes", "cashiers.list", "cashier.login", "sale.submit", "lane.config",
        "override.authorise",
    }  # fmt: skip
    assert _received("register") == requests
    assert _sent("register") == replies
    assert set(_message("registerError")["code"]["enum"]) == _register_error_codes()
    assert _message("welcome")["protocol"]["const"] == protocol.PROTOCOL_VERSION
    tender_kinds = SPEC["components"]["schemas"]["Tender"]["properties"]["kind"]["enum"]
    assert set(tender_kinds) == set(TENDER_KINDS), "update Tender in docs/asyncapi.yaml and SALE in docs/protocol.md"


def test_every_storefront_command_reply_error_and_scope_is_documented() -> None:
    assert _received("storefront") == set(storefront_protocol.CLIENT_MESSAGES)
    assert _sent("storefront") == set(storefront_protocol.SERVER_MESSAGES)
    errors = set(_message("storefrontError")["code"]["enum"])
    assert errors == set(storefront_protocol.STOREFRONT_ERRORS)
    refusals = _use_case_refusals(ast.parse(STOREFRONT_SOURCE.read_text(encoding="utf-8")))
    assert {"insufficient_stock", "unknown_order"} <= refusals  # the scan works
    assert refusals - NOT_FROM_STOREFRONT <= errors, (
        "a use case the storefront calls can refuse with an undocumented code"
    )
    for operation in _operations("storefront"):
        if operation["action"] == "receive":
            (command,) = _types(operation["messages"])
            assert operation["x-scope"] == storefront_protocol.SCOPE_FOR[command], command
    assert set(_message("storefrontError")["scope"]["enum"]) == set(storefront_protocol.SCOPE_FOR.values())
    token = SPEC["components"]["securitySchemes"]["storefrontToken"]["description"]
    assert all(f"`{scope}`" in token for scope in protocol.STOREFRONT_SCOPES)


def test_the_use_cases_append_only_catalogued_events() -> None:
    names = _appended_events()
    assert {feed_protocol.SALE_COMPLETED, feed_protocol.STOCK_CHANGED} <= names  # the scan works
    unknown = names - set(feed_protocol.EVENT_TYPES)
    assert not unknown, f"catalogue these in feed_protocol.EVENT_TYPES and document them: {sorted(unknown)}"


def test_the_prose_guide_names_every_message_event_and_error() -> None:
    requests, replies = _register_messages()
    names = {
        *requests,
        *replies,
        *feed_protocol.CONSUMER_MESSAGES,
        *feed_protocol.SERVER_MESSAGES,
        *feed_protocol.EVENT_TYPES,
        *feed_protocol.FEED_ERRORS,
        *feed_protocol.SNAPSHOT_REASONS,
        *_register_error_codes(),
        *storefront_protocol.CLIENT_MESSAGES,
        *storefront_protocol.SERVER_MESSAGES,
        *storefront_protocol.STOREFRONT_ERRORS,
        *protocol.STOREFRONT_SCOPES,
    }
    missing = sorted(name for name in names if f"`{name}`" not in GUIDE)
    assert not missing, f"docs/protocol.md does not mention {missing}"
    assert re.search(r"^## Storefront commands$", GUIDE, re.MULTILINE)
    assert f"feed protocol {feed_protocol.FEED_PROTOCOL}" in GUIDE
    assert "storefront protocol 1" in GUIDE
