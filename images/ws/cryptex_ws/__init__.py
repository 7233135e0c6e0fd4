"""The WebSocket server: relays each market's trades, depth diffs, ticker and candles from Redis
to subscribed clients, and each authenticated account's own order updates and balances.

It holds no state that matters (the current candles are rebuilt from the trades channel and the
recent trades list) and never writes to Redis: replicas scale out, each with its own pubsub
connection. Nothing here may block the event loop or let one client slow the others."""
