"""Test support: fakes, servers and tiny-model builders. Never shipped in the wheel."""
