"""The pure domain shared by register and store server.

Standard library only: no Qt, SQLAlchemy, websockets, serial, files or sockets.
"""
