"""Tests of server.ledger and tools/verify_casefile.py."""
