"""Helpers shared by test modules (fixtures live in the conftest files)."""
