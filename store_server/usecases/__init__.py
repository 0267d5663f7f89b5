"""What the store does, one module per part of the shop; each function takes a session."""
