"""`pos store token` makes storefront tokens with the scopes asked for, every scope by default."""

from __future__ import annotations

from pathlib import Path

import pytest

from pos_cli.main import main
from pos_core.protocol import STOREFRONT_SCOPES
from store_server.db.engine import open_database
from store_server.usecases.credentials import credential_scopes, verify_token
from store_server.usecases.store import init_store


def _token(data: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["store", "token", "--data-dir", str(data), *args])
    out, err = capsys.readouterr()
    return code, out.strip(), err


def _scopes(data: Path, token: str) -> frozenset[str]:
    db = open_database(f"sqlite:///{data / 'store.db'}")
    try:
        with db.read() as session:
            credential = verify_token(session, token)
            assert credential is not None
            return credential_scopes(credential)
    finally:
        db.close()


def test_tokens_carry_the_scopes_asked_for(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    init_store(f"sqlite:///{tmp_path / 'store.db'}", demo=False, name="Corner Shop")
    code, every, _ = _token(tmp_path, capsys, "--kind", "storefront", "--name", "web shop")
    assert code == 0
    assert _scopes(tmp_path, every) == set(STOREFRONT_SCOPES)
    code, reader, _ = _token(
        tmp_path, capsys, "--kind", "storefront", "--name", "stock app", "--scope", "stock:read", "--scope", "feed:read"
    )
    assert code == 0
    assert _scopes(tmp_path, reader) == {"stock:read", "feed:read"}
    code, till, _ = _token(tmp_path, capsys, "--kind", "register", "--name", "Till 2")
    assert code == 0
    assert _scopes(tmp_path, till) == set()


def test_a_scope_a_token_cannot_carry_is_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    init_store(f"sqlite:///{tmp_path / 'store.db'}", demo=False, name="Corner Shop")
    code, out, err = _token(tmp_path, capsys, "--kind", "register", "--name", "Till 2", "--scope", "stock:read")
    assert (code, out) == (1, "")
    assert err == "pos: A register token carries no scopes; give scopes only to a storefront token.\n"
    for name in ("", "   ", "Till\n2"):
        code, out, err = _token(tmp_path, capsys, "--kind", "register", "--name", name)
        assert (code, out) == (1, "")
        assert err == "pos: A token's name must be 1 to 200 characters on one line, e.g. 'Till 1' or 'web shop'.\n"
    with pytest.raises(SystemExit) as exited:
        _token(tmp_path, capsys, "--kind", "storefront", "--name", "web", "--scope", "stock:write")
    assert exited.value.code == 2
    assert "invalid choice: 'stock:write'" in capsys.readouterr().err


def test_tokens_are_listed_without_the_token_and_revoked_by_name_or_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    init_store(f"sqlite:///{tmp_path / 'store.db'}", demo=False, name="Corner Shop")
    _, till, _ = _token(tmp_path, capsys, "--kind", "register", "--name", "Till 1")
    _, web, _ = _token(tmp_path, capsys, "--kind", "storefront", "--name", "web shop", "--scope", "feed:read")
    assert main(["store", "tokens", "--data-dir", str(tmp_path)]) == 0
    listing, _ = capsys.readouterr()
    assert till not in listing
    assert web not in listing
    lines = listing.splitlines()
    assert lines[0].split() == ["ID", "KIND", "NAME", "SCOPES", "CREATED", "REVOKED"]
    web_line = next(line for line in lines if "web shop" in line)
    assert "storefront" in web_line
    assert "feed:read" in web_line
    assert web_line.rstrip().endswith("-")

    assert main(["store", "revoke", "--data-dir", str(tmp_path), "--name", "Till 1"]) == 0
    assert "Revoked" in capsys.readouterr().out
    assert _live(tmp_path, till) is False
    assert main(["store", "revoke", "--data-dir", str(tmp_path), "--name", "Till 1"]) == 1
    assert "no live credential named 'Till 1'" in capsys.readouterr().err

    web_id = web_line.split()[0]
    assert main(["store", "revoke", "--data-dir", str(tmp_path), "--id", web_id]) == 0
    assert _live(tmp_path, web) is False
    capsys.readouterr()
    assert main(["store", "tokens", "--data-dir", str(tmp_path)]) == 0
    assert all(not line.rstrip().endswith(" -") for line in capsys.readouterr().out.splitlines()[1:])


def test_revoking_by_a_shared_name_asks_for_the_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    init_store(f"sqlite:///{tmp_path / 'store.db'}", demo=False, name="Corner Shop")
    _token(tmp_path, capsys, "--kind", "register", "--name", "Till")
    _token(tmp_path, capsys, "--kind", "register", "--name", "Till")
    assert main(["store", "revoke", "--data-dir", str(tmp_path), "--name", "Till"]) == 1
    assert "--id" in capsys.readouterr().err


def _live(data: Path, token: str) -> bool:
    db = open_database(f"sqlite:///{data / 'store.db'}")
    try:
        with db.read() as session:
            return verify_token(session, token) is not None
    finally:
        db.close()
