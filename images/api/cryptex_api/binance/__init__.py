"""The Binance-compatible facade (`/api/v3`): Binance's names, shapes and error codes at the
edge over the same ledger and engines as the native API. It translates; it never adds a second
order path (orders go through `cryptex_api.orders`)."""
