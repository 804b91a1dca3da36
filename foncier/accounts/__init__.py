"""Accounts: creation, roles and the links sent to their owners (users), passwords and
one-time links (passwords), sign-in and its throttling (signin).
"""
