"""The market maker: quotes listed markets through the public REST and WebSocket API only."""
