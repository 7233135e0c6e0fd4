"""Every Redis key, stream group and channel name in Cryptex; nothing else spells one.

A market's keys share the hash tag `{SOL_USDC}` so they stay together on one Redis Cluster shard.
Ledger keys (balances, orders) are cross-market: the scripts that touch them run on the shard
that holds them all, which is why Cryptex runs its ledger on one Redis primary.
"""

from __future__ import annotations

from typing import Final

# The account that every fee is credited to. Real accounts are numbered from 1.
FEE_ACCOUNT: Final = 0

COMMANDS_GROUP: Final = "engine"  # the engine's consumer group on a command stream
ENGINE_CONSUMER: Final = "engine"  # one engine per market, so one fixed consumer name
EVENTS_GROUP: Final = "dbproc"  # the DB processor's consumer group on an event stream

# ------------------------------------------------------------------ registry and sequences

MARKETS: Final = "registry:markets"  # hash: symbol -> Market manifest (JSON)
ORDER_IDS: Final = "seq:order-ids"  # counter: order ids are handed out in blocks
ACCOUNTS: Final = "ledger:accounts"  # set of every account that ever held a balance
TOTALS: Final = "ledger:totals"  # hash: asset -> deposits minus withdrawals (units)
# hash: asset -> what all accounts hold (available + locked), kept by every script that moves a
# balance, so that conservation is checked against TOTALS at any instant, trading or not.
HELD: Final = "ledger:held"
# counter: bumped by every script that moves a balance, so that the audit knows whether its pass
# over the accounts saw one instant (and can recount HELD from the balances themselves).
LEDGER_VERSION: Final = "ledger:version"
JOURNAL: Final = "ledger:journal"  # stream of deposits and withdrawals

# ------------------------------------------------------------------ stream entry fields

COMMAND_FIELD: Final = "c"  # a command stream entry: the encoded command
EVENTS_FIELD: Final = "e"  # an event stream entry: the batch's encoded events
SETTLED_COMMAND_FIELD: Final = "c"  # an event stream entry: id of the batch's last command


# ------------------------------------------------------------------ per market


def _market(symbol: str, name: str) -> str:
    return f"mkt:{{{symbol}}}:{name}"


def commands(symbol: str) -> str:
    """Stream of commands to the market's engine (PlaceOrder, CancelOrder, controls)."""
    return _market(symbol, "commands")


def events(symbol: str) -> str:
    """Stream of the engine's settled events, one entry per batch."""
    return _market(symbol, "events")


# SCAN patterns of every market's command and event streams: the Redis exporter reports their
# consumer groups, which the lag alerts read (the chart's exporter sidecar lists the same).
MARKET_STREAM_PATTERNS: Final = (commands("*"), events("*"))


def snapshot(symbol: str) -> str:
    """The engine's last snapshot (book, open orders' funds, last command id): a list of the
    parts of its encoding, in order (see `cryptex.ledger.snapshots.SNAPSHOT_PART_BYTES`)."""
    return _market(symbol, "snapshot")


def snapshot_staging(symbol: str) -> str:
    """The parts of the snapshot being written; renamed to `snapshot` once complete."""
    return _market(symbol, "snapshot-staging")


def snapshot_command(symbol: str) -> str:
    """Id of the last command the stored snapshot reflects, set with it."""
    return _market(symbol, "snapshot-command")


def lease(symbol: str) -> str:
    """Which engine instance runs the market; expires unless renewed."""
    return _market(symbol, "lease")


def fence(symbol: str) -> str:
    """Fencing token: incremented by each engine start; settlement refuses an older one."""
    return _market(symbol, "fence")


def applied(symbol: str) -> str:
    """Id of the last command whose effects are settled."""
    return _market(symbol, "applied")


def depth(symbol: str) -> str:
    """Depth snapshot with its lastUpdateId, for REST, written with every settled batch."""
    return _market(symbol, "depth")


def ticker(symbol: str) -> str:
    """24-hour rolling ticker, written when trades settle."""
    return _market(symbol, "ticker")


def recent_trades(symbol: str) -> str:
    """The latest trades, newest first, capped."""
    return _market(symbol, "trades")


def heartbeat(symbol: str) -> str:
    """The engine's last heartbeat: state, last applied id, resting orders."""
    return _market(symbol, "heartbeat")


# ------------------------------------------------------------------ market data channels


def trades_channel(symbol: str) -> str:
    return f"md:{{{symbol}}}:trades"


def depth_channel(symbol: str) -> str:
    return f"md:{{{symbol}}}:depth"


def ticker_channel(symbol: str) -> str:
    return f"md:{{{symbol}}}:ticker"


def order_updates_channel(symbol: str) -> str:
    """Private order updates of every account in a market; the WebSocket server routes them."""
    return f"md:{{{symbol}}}:orders"


def reply_channel(instance: str) -> str:
    """Where the engine answers the API process `instance` that sent a command."""
    return f"reply:{instance}"


# ------------------------------------------------------------------ ledger


def balances(account: int) -> str:
    """Hash: `<ASSET>` -> available units, `<ASSET>:locked` -> locked units."""
    return f"acct:{account}:balances"


def open_orders(account: int) -> str:
    """Set of the account's open order ids."""
    return f"acct:{account}:open"


def open_order_counts(account: int) -> str:
    """Hash: market -> how many of the account's open orders are in it (kept with the open
    set by the place and settle scripts, so placing checks a market's limit in one read)."""
    return f"acct:{account}:open-count"


def client_order(account: int, client_order_id: str) -> str:
    """What a client order id was first used for: the order id and the order's terms
    (idempotent placement; the same id with other terms is refused)."""
    return f"acct:{account}:cid:{client_order_id}"


def api_key(key: str) -> str:
    """Hash: an API key's account, permissions, type, label, creation time and its HMAC secret
    (encrypted) or Ed25519 public key. Deleting it revokes the key in every API process."""
    return f"apikey:{{{key}}}"


def account_api_keys(account: int) -> str:
    """Set of the account's API keys."""
    return f"acct:{account}:apikeys"


def signature_seen(key: str, signature: str) -> str:
    """A signature made with an API key, kept for its request's receive window: the same
    request twice is a replay. Tagged as the key's hash, so one script reads both."""
    return f"apikey:{{{key}}}:sig:{signature}"


def listen_key(key: str) -> str:
    """A user data stream's listenKey (Binance's older flow): the account whose order and
    balance events `/ws/<listenKey>` carries. Expires unless kept alive (PUT
    /api/v3/userDataStream); deleting it ends the stream."""
    return f"listenkey:{key}"


def transfer(reference: str) -> str:
    """Hash: what the deposit or withdrawal of this reference did (account, asset, signed
    units, available after): a transfer happens once per reference."""
    return f"ledger:transfer:{reference}"


def order(order_id: int | str) -> str:
    """Hash: the order's record (see `cryptex.ledger.records.OrderRecord`)."""
    return f"order:{order_id}"


_LOCKED_SUFFIX: Final = ":locked"


def locked_field(asset: str) -> str:
    """The field of a balances hash that holds the asset's locked units."""
    return asset + _LOCKED_SUFFIX


def asset_of_field(field: str) -> str:
    """The asset a balances hash field counts (its available or its locked units)."""
    return field.removesuffix(_LOCKED_SUFFIX)
