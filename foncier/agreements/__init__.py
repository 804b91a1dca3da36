"""Shared-benefit agreements between the EPCIs of a redirection: terms, signatures, documents,
status, the network's ledger, and the exact calculator (sharing)."""
