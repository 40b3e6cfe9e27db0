"""Bundled data files (holiday calendar, item catalog), read with ``importlib.resources``.

A package only so that the files ship inside the wheel as package data.
"""
