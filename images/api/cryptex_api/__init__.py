"""The REST gateway: accounts, orders, balances and market data over the ledger and engines."""
