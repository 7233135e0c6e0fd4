"""Cryptex's shared library: money, markets, wire, keys, ledger scripts, settings, logging.

It imports no service; every service imports it.
"""
