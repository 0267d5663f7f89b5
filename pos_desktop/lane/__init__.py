"""The lane: what a register does, with no Qt, so the desktop app and the headless simulator share it."""
