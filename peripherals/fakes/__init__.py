"""Test doubles for every device category: real sockets and ptys, no mocks."""
