"""Accounts: creation and roles, passwords and one-time links, sign-in and its throttling."""
