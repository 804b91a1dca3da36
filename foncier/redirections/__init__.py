"""Redirections of a company project between EPCIs: propose, accept, decline, withdraw, and the
choices a proposal offers (proposals); the case's path in French words (case_steps).
"""
