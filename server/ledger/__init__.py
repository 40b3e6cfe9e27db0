"""Tamper evidence for the audit log: canonical event bytes, RFC 6962 Merkle trees, exports."""
