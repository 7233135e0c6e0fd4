"""The matching engine of one market: `book` is the pure order book."""
