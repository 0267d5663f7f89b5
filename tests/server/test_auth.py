"""Every connection authenticates; refusals are HTTP answers with a sentence and no websocket."""

from __future__ import annotations

from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from store_server.db.engine import open_database
from store_server.usecases.credentials import revoke_token, verify_token
from tests.server.support import feed_url, register, run, running_server


async def _refusal(url: str, headers: dict[str, str]) -> tuple[int, str]:
    with pytest.raises(InvalidStatus) as info:
        async with connect(url, additional_headers=headers):
            pass
    body = info.value.response.body or b""
    return info.value.response.status_code, body.decode()


@pytest.mark.parametrize(
    ("path", "token_kind", "status", "phrase"),
    [
        ("/register", None, 401, "Authorization: Bearer"),
        ("/feed", None, 401, "Authorization: Bearer"),
        ("/register", "bogus", 401, "unknown or revoked"),
        ("/register", "storefront", 403, "storefront token cannot open /register"),
        ("/feed", "register", 403, "register token cannot open /feed"),
        ("/nowhere", "register", 404, "nothing at /nowhere"),
    ],
)
def test_refusals_are_http_answers_with_a_sentence(
    sqlite_url: str, path: str, token_kind: str | None, status: int, phrase: str
) -> None:
    async def scenario() -> tuple[int, str]:
        async with running_server(sqlite_url) as (server, tokens):
            token = {"register": tokens.register, "storefront": tokens.storefront, "bogus": "not-a-token"}
            headers = {} if token_kind is None else {"Authorization": f"Bearer {token[token_kind]}"}
            return await _refusal(f"ws://127.0.0.1:{server.port}{path}", headers)

    got_status, body = run(scenario())
    assert got_status == status
    assert phrase in body
    assert body.strip().endswith(".")


def test_revoked_token_is_refused(sqlite_url: str) -> None:
    async def scenario() -> int:
        async with running_server(sqlite_url) as (server, tokens):
            db = open_database(sqlite_url)
            with db.write() as session:
                credential = verify_token(session, tokens.register)
                assert credential is not None
                assert revoke_token(session, credential.id)
            db.close()
            status, _ = await _refusal(
                f"ws://127.0.0.1:{server.port}/register", {"Authorization": f"Bearer {tokens.register}"}
            )
            return status

    assert run(scenario()) == 401


def test_right_tokens_open_their_endpoints(sqlite_url: str) -> None:
    async def scenario() -> None:
        async with running_server(sqlite_url) as (server, tokens):
            async with register(server, tokens.register) as reg:
                assert reg.welcome["type"] == "welcome"
            async with connect(feed_url(server), additional_headers={"Authorization": f"Bearer {tokens.storefront}"}):
                pass

    run(scenario())


def test_only_the_token_hash_is_stored(sqlite_url: str) -> None:
    async def scenario() -> str:
        async with running_server(sqlite_url) as (_, tokens):
            return tokens.register

    token = run(scenario())
    folder = Path(sqlite_url.removeprefix("sqlite:///")).parent
    for file in folder.iterdir():  # the database and its WAL
        assert token.encode() not in file.read_bytes()


def test_tokens_name_their_kind_and_never_look_like_an_option(tmp_path: Path) -> None:
    from store_server.db.engine import open_database
    from store_server.usecases.credentials import issue_token, verify_token
    from store_server.usecases.store import init_store

    url = f"sqlite:///{tmp_path / 'store.db'}"
    init_store(url, demo=False)
    db = open_database(url)
    try:
        with db.write() as session:
            tokens = [issue_token(session, "register", f"till {i}") for i in range(50)]
            web = issue_token(session, "storefront", "web")
        with db.read() as session:
            assert all(verify_token(session, t) is not None for t in [*tokens, web])
    finally:
        db.close()
    assert all(t.startswith("pos_register_") for t in tokens)
    assert web.startswith("pos_storefront_")
    assert len(set(tokens)) == 50
