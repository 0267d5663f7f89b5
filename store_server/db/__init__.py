"""Storage: SQLAlchemy models, the engine with its one writer path, and migrations."""

from store_server.db.engine import Database, open_database

__all__ = ["Database", "open_database"]
