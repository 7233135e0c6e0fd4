"""kopf handlers for `Market` resources: thin wiring of `manifests` and `status` (pure) with
`control` (Redis) and `kube` (the Kubernetes API). The clients travel in `kopf.Memo`, made by the
startup handler; nothing here holds one at module level.

- create, resume, update -> `reconcile`: check the market, list it, its Service, its Deployment
  (a snapshot before a roll), its trading state (acknowledged by the engine).
- delete -> `retire`: CancelOnly, CancelAllOrders, Halted (each acknowledged), stop the engine,
  delist; only then kopf removes the finalizer.
- timer -> `refresh_status`: the heartbeat and the Deployment's readiness into the conditions.

Every step finds its own earlier effect, because kopf calls a handler again after any failure: a
control command sent is kept in an annotation with its request id and never sent twice, and
Kubernetes objects carry the hash of what was asked for.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, NoReturn, TypeVar

import kopf
import msgspec
import redis

from cryptex.markets import MarketError, MarketSpec
from cryptex.redis_access import connect
from cryptex.wire import (
    CancelAllOrders,
    ControlRejected,
    SetTradingState,
    TakeSnapshot,
    TradingState,
)
from cryptex_operator import control, manifests, status
from cryptex_operator.kube import DEPLOYMENTS, SERVICES, KubeApi, login
from cryptex_operator.manifests import GROUP, PLURAL, VERSION, EngineConfig
from cryptex_operator.settings import OperatorSettings

log = logging.getLogger("cryptex.operator")
T = TypeVar("T")

# The operator's own annotations (kopf's progress shares the prefix: see `configure`).
TRADING_REQUEST: Final = "cryptex.io/trading-state-request"
SNAPSHOT_REQUEST: Final = "cryptex.io/snapshot-request"
RETIRE_PROGRESS: Final = "cryptex.io/retire-progress"

_RETIRE_STEPS: Final = 3  # CancelOnly, CancelAllOrders, Halted
_ENGINE_STOPPED: Final = _RETIRE_STEPS + 1  # then the Deployment is deleted
# At exit, how long a timer's run in flight may take to end before the cleanup (seconds).
STOP_WAIT_S: Final = 5.0


@dataclass(frozen=True, slots=True)
class Context:
    settings: OperatorSettings
    redis: redis.Redis
    kube: KubeApi
    engine: EngineConfig


class RetireProgress(msgspec.Struct, frozen=True):
    step: int = 0  # retire steps done
    sent: control.Sent | None = None  # the command of the current step, once sent


def build_registry(settings: OperatorSettings) -> kopf.OperatorRegistry:
    """Every handler, registered on a registry of its own (so importing this module registers
    nothing globally) with the timings from the settings."""
    registry = kopf.OperatorRegistry()
    market = (GROUP, VERSION, PLURAL)
    backoff = settings.retry_delay_s
    kopf.on.startup(registry=registry)(configure)
    kopf.on.cleanup(registry=registry)(close)
    kopf.on.login(registry=registry)(sign_in)
    kopf.on.create(*market, registry=registry, id="create", backoff=backoff)(reconcile)
    kopf.on.resume(*market, registry=registry, id="resume", backoff=backoff)(reconcile)
    kopf.on.update(*market, registry=registry, id="update", field="spec", backoff=backoff)(
        reconcile
    )
    kopf.on.delete(*market, registry=registry, id="retire", backoff=backoff)(retire)
    kopf.on.timer(
        *market, registry=registry, id="refresh-status", interval=settings.status_interval_s
    )(refresh_status)
    return registry


# ------------------------------------------------------------------ startup and shutdown


async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    """kopf's settings, each on purpose, and the clients every handler uses."""
    ours = memo.get("settings")
    if not isinstance(ours, OperatorSettings):
        raise RuntimeError("run the operator with kopf.Memo(settings=OperatorSettings(...))")

    # Deletion waits for `retire` (halt, cancel every order, delist) under this finalizer.
    settings.persistence.finalizer = manifests.FINALIZER
    # The CRD prunes status fields it does not declare, so kopf's default (progress in
    # status.kopf as well) would be dropped silently: kopf's progress and the last handled spec
    # live in `cryptex.io/...` annotations, beside the operator's own control requests.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
        prefix=manifests.ANNOTATION_PREFIX
    )
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=manifests.ANNOTATION_PREFIX, key="last-handled-configuration"
    )
    # Standalone, no peering: the operator runs as one replica with the Recreate strategy, so two
    # never overlap, and peering would need kopf's cluster-wide peering resources and the RBAC to
    # write them for nothing. Were two to run anyway, every step is idempotent, and the engines'
    # fencing tokens keep the ledger safe whatever the operator does.
    settings.peering.standalone = True
    # Kubernetes events from INFO up: each step of a market's life shows in `kubectl describe`.
    settings.posting.level = logging.INFO
    # Watches end on the server's side before proxies and load balancers cut idle connections,
    # and a silent stream is given up on the client's side soon after.
    settings.watching.server_timeout = 270
    settings.watching.client_timeout = 300
    settings.watching.connect_timeout = 30
    settings.networking.request_timeout = 60
    # kopf stops a timer only between its runs, and at exit waits for a run in flight only this
    # long (by default a few event-loop turns) before leaving it orphaned. An orphaned status
    # refresh went on after the cleanup below had closed the clients: its Kubernetes call opened
    # a client session that nothing closed. A refresh takes milliseconds; this bounds a stuck one.
    settings.background.instant_exit_timeout = STOP_WAIT_S

    client = connect(ours.redis_url)
    kube = KubeApi(lambda: login(settings))
    memo["context"] = Context(
        settings=ours,
        redis=client,
        kube=kube,
        engine=EngineConfig(
            redis_url=ours.engine_redis,
            redis_url_secret=ours.engine_redis_url_secret,
            metrics_port=ours.engine_metrics_port,
            run_as_user=ours.engine_run_as_user,
        ),
    )
    log.info(
        "operator configured",
        extra={"namespaces": ours.namespaces, "instance": ours.instance},
    )


async def close(memo: kopf.Memo, **_: Any) -> None:
    ctx = memo.get("context")
    if isinstance(ctx, Context):
        await ctx.kube.close()
        ctx.redis.close()


def sign_in(settings: kopf.OperatorSettings, **_: Any) -> kopf.ConnectionInfo | None:
    """kopf's own API access, the same way as the operator's: service account, or kubeconfig."""
    return login(settings)


def _context(memo: kopf.Memo) -> Context:
    ctx = memo.get("context")
    if not isinstance(ctx, Context):
        raise RuntimeError("the operator's startup handler has not run")
    return ctx


# ------------------------------------------------------------------ create, resume, update


async def reconcile(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any) -> None:
    """Bring the market to what its spec asks; every step is skipped when already done."""
    ctx = _context(memo)
    try:
        market = await _validated(ctx, body)
    except MarketError as error:
        problem = status.Problem("InvalidSpec", str(error))
        await _report(ctx, body, patch, None, problem=problem, handled=True)
        kopf.warn(body, reason="InvalidSpec", message=str(error))
        raise kopf.PermanentError(str(error)) from None
    symbol = market.symbol
    await _list(ctx, body, market)
    await _ensure_service(ctx, body)
    await _ensure_engine(ctx, body, patch, market)
    applied = await _apply_trading_state(ctx, body, patch, market)
    await _report(ctx, body, patch, symbol, applied=applied, handled=True)


async def _validated(ctx: Context, body: kopf.Body) -> MarketSpec:
    market = MarketSpec.from_manifest(manifests.market_manifest(body))
    listed, registered = await asyncio.to_thread(_registry_view, ctx.redis, market.symbol)
    return manifests.validate(body, listed, registered)


def _registry_view(
    client: redis.Redis, symbol: str
) -> tuple[dict[str, MarketSpec], dict[str, Any] | None]:
    return control.listed_markets(client), control.registered(client, symbol)


def _engine_state(body: kopf.Body, registered: dict[str, Any] | None) -> str:
    """The trading state the engine has, or will start with: the last it acknowledged, else
    the one listed in the registry (an engine without a snapshot starts with it), else the
    spec's (nothing listed yet)."""
    applied = body.status.get("lastAppliedTradingState")
    if isinstance(applied, str):
        return applied
    if registered is not None:
        listed = registered.get("spec", {}).get("tradingState")
        if isinstance(listed, str):
            return listed
    return _desired(body)


def _desired(body: kopf.Body) -> str:
    state = body.spec.get("tradingState", TradingState.ACTIVE.value)
    return str(state)


async def _list(ctx: Context, body: kopf.Body, market: MarketSpec) -> None:
    registered = await asyncio.to_thread(control.registered, ctx.redis, market.symbol)
    manifest = manifests.registry_manifest(body, _engine_state(body, registered))
    await asyncio.to_thread(control.list_market, ctx.redis, manifest)
    if registered != manifest:
        verb = "Listed" if registered is None else "Relisted"
        kopf.info(body, reason=verb, message=f"{market.symbol} is in the registry")


async def _ensure_service(ctx: Context, body: kopf.Body) -> None:
    name, namespace = body.meta.name or "", body.meta.namespace or ""
    desired = manifests.service(name, namespace, ctx.engine)
    kopf.adopt(desired, owner=body)
    existing = await ctx.kube.get(SERVICES, namespace, manifests.engine_name(name))
    if existing is None:
        await ctx.kube.create(SERVICES, namespace, desired)
        kopf.info(body, reason="ServiceCreated", message=f"Service {manifests.engine_name(name)}")
    elif manifests.stored_hash(existing) != manifests.desired_hash(desired):
        await ctx.kube.patch(SERVICES, namespace, manifests.engine_name(name), desired)
        kopf.info(body, reason="ServiceUpdated", message=f"Service {manifests.engine_name(name)}")


async def _ensure_engine(
    ctx: Context, body: kopf.Body, patch: kopf.Patch, market: MarketSpec
) -> None:
    """The Deployment as the spec asks; a change of its pod rolls the engine, after a snapshot
    when it runs (the new engine then replays almost nothing)."""
    name, namespace = body.meta.name or "", body.meta.namespace or ""
    deployment_name = manifests.engine_name(name)
    desired = manifests.deployment(name, namespace, market, body.spec["engine"], ctx.engine)
    kopf.adopt(desired, owner=body)
    image = desired["spec"]["template"]["spec"]["containers"][0]["image"]
    existing = await ctx.kube.get(DEPLOYMENTS, namespace, deployment_name)
    if existing is None:
        await ctx.kube.create(DEPLOYMENTS, namespace, desired)
        kopf.info(body, reason="EngineCreated", message=f"Deployment {deployment_name}: {image}")
        return
    wanted = manifests.desired_hash(desired)
    if manifests.stored_hash(existing) == wanted:
        _forget(patch, body, SNAPSHOT_REQUEST)
        return
    beat = await asyncio.to_thread(control.heartbeat, ctx.redis, market.symbol)
    if beat is None:
        # A crash-looping engine must be replaceable: with none running there is nothing in
        # memory to save, and the next engine starts from the last snapshot and the stream.
        kopf.warn(
            body,
            reason="RollWithoutSnapshot",
            message="the engine is not running, so it is replaced without a snapshot first",
        )
    else:
        request_id = f"{body.meta.uid}.snapshot.{wanted}"
        sent = await _send(
            ctx, body, patch, SNAPSHOT_REQUEST, market.symbol,
            TakeSnapshot(_now_ms(), request_id),
        )  # fmt: skip
        taken = await asyncio.to_thread(
            control.wait_snapshot, ctx.redis, market.symbol, sent, ctx.settings.ack_wait_s
        )
        if not taken:
            raise kopf.TemporaryError(
                "waiting for the engine's snapshot before the roll",
                delay=ctx.settings.retry_delay_s,
            )
        kopf.info(
            body,
            reason="SnapshotTaken",
            message=f"the engine's snapshot reaches command {sent.command_id}; rolling",
        )
    await ctx.kube.patch(DEPLOYMENTS, namespace, deployment_name, desired)
    _forget(patch, body, SNAPSHOT_REQUEST)
    kopf.info(body, reason="EngineRolled", message=f"Deployment {deployment_name}: {image}")


async def _apply_trading_state(
    ctx: Context, body: kopf.Body, patch: kopf.Patch, market: MarketSpec
) -> str | None:
    """Send the spec's trading state to the engine unless it has it; wait for the ack.
    Returns the state the engine acknowledged (None: not known yet)."""
    symbol, desired = market.symbol, _desired(body)
    registered = await asyncio.to_thread(control.registered, ctx.redis, symbol)
    # A request still in flight leaves the engine's state unknown: it may yet apply it.
    in_flight = _load(body, TRADING_REQUEST, control.Sent)
    if in_flight is None and _engine_state(body, registered) == desired:
        applied = body.status.get("lastAppliedTradingState")
        return applied if isinstance(applied, str) else None
    request_id = f"{body.meta.uid}.g{body.meta.get('generation', 0)}.{desired}"
    sent = await _send(
        ctx, body, patch, TRADING_REQUEST, symbol,
        SetTradingState(TradingState(desired), _now_ms(), request_id),
    )  # fmt: skip
    try:
        ack = await asyncio.to_thread(
            control.wait_ack, ctx.redis, symbol, sent, ctx.settings.ack_wait_s
        )
    except control.AckLostError as error:  # the next attempt sends the request again
        _forget(patch, body, TRADING_REQUEST)
        kopf.warn(body, reason="AcknowledgementLost", message=str(error))
        raise kopf.TemporaryError(str(error), delay=ctx.settings.retry_delay_s) from None
    if ack is None:
        await _report(ctx, body, patch, symbol)
        raise kopf.TemporaryError(
            f"waiting for the engine to acknowledge {desired}", delay=ctx.settings.retry_delay_s
        )
    _forget(patch, body, TRADING_REQUEST)
    if isinstance(ack, ControlRejected):
        message = f"the engine refused {desired}: {ack.reason.value}"
        await _report(ctx, body, patch, symbol, problem=status.Problem("ControlRejected", message))
        kopf.warn(body, reason="ControlRejected", message=message)
        raise kopf.PermanentError(message)
    kopf.info(body, reason="TradingStateChanged", message=control.describe(ack))
    patch.status["lastAppliedTradingState"] = desired
    manifest = manifests.registry_manifest(body, desired)
    await asyncio.to_thread(control.list_market, ctx.redis, manifest)
    return desired


# ------------------------------------------------------------------ delete


async def retire(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any) -> None:
    """Halt the market and cancel every resting order (the engine's settlement releases each
    lock), stop the engine, then delist the market and delete its streams."""
    ctx = _context(memo)
    try:
        market = MarketSpec.from_manifest(manifests.market_manifest(body))
    except MarketError:
        kopf.info(body, reason="NotListed", message="the Market was never listed")
        return
    symbol = market.symbol
    registered = await asyncio.to_thread(control.registered, ctx.redis, symbol)
    owner = (registered or {}).get("metadata", {}).get("uid")
    if registered is None or (owner and owner != body.meta.uid):
        kopf.info(body, reason="NotListed", message=f"{symbol} is not listed by this Market")
        return
    progress = _load(body, RETIRE_PROGRESS, RetireProgress) or RetireProgress()
    if progress.step < _RETIRE_STEPS:
        await _keep_engine(ctx, body, market)
    while progress.step < _RETIRE_STEPS:
        progress = await _retire_step(ctx, body, patch, symbol, progress)
        _remember(patch, RETIRE_PROGRESS, progress)
    name, namespace = body.meta.name or "", body.meta.namespace or ""
    if progress.step == _RETIRE_STEPS:
        await ctx.kube.delete(DEPLOYMENTS, namespace, manifests.engine_name(name))
        await ctx.kube.delete(SERVICES, namespace, manifests.engine_name(name))
        kopf.info(body, reason="EngineStopping", message="deleted the engine's Deployment")
        progress = RetireProgress(step=_ENGINE_STOPPED)
        _remember(patch, RETIRE_PROGRESS, progress)
    if not await asyncio.to_thread(control.engine_stopped, ctx.redis, symbol):
        await _wait_retiring(ctx, body, patch, symbol, "waiting for the engine to stop")
    if ctx.settings.drain_events:
        unread = await asyncio.to_thread(control.unread_events, ctx.redis, symbol)
        if unread:
            await _wait_retiring(
                ctx, body, patch, symbol,
                f"waiting for the DB processor to read {unread} more events",
            )  # fmt: skip
    await asyncio.to_thread(control.delist, ctx.redis, symbol)
    kopf.info(body, reason="Delisted", message=f"{symbol} left the registry; its streams are gone")


async def _keep_engine(ctx: Context, body: kopf.Body, market: MarketSpec) -> None:
    """Only an engine can release the locks of resting orders: a Deployment deleted before the
    market is retired (a foreground cascade, or by hand) is made again, with no owner so that
    the garbage collector leaves it alone; `retire` deletes it itself when done."""
    name, namespace = body.meta.name or "", body.meta.namespace or ""
    if await ctx.kube.get(DEPLOYMENTS, namespace, manifests.engine_name(name)) is not None:
        return
    desired = manifests.deployment(name, namespace, market, body.spec["engine"], ctx.engine)
    await ctx.kube.create(DEPLOYMENTS, namespace, desired)
    kopf.warn(
        body,
        reason="EngineRecreated",
        message="the engine's Deployment was deleted before the market was retired: made "
        "again, for its engine to cancel the resting orders and release their locks",
    )


async def _retire_step(
    ctx: Context, body: kopf.Body, patch: kopf.Patch, symbol: str, progress: RetireProgress
) -> RetireProgress:
    step, ts = progress.step, _now_ms()
    request_id = f"{body.meta.uid}.retire.{step}"
    command: control.ControlCommand = (
        SetTradingState(TradingState.CANCEL_ONLY, ts, request_id) if step == 0
        else CancelAllOrders(ts, request_id) if step == 1
        else SetTradingState(TradingState.HALTED, ts, request_id)
    )  # fmt: skip
    sent = progress.sent if progress.sent and progress.sent.request_id == request_id else None
    if sent is None:
        if await asyncio.to_thread(control.heartbeat, ctx.redis, symbol) is None:
            await _engine_down(ctx, body, patch, symbol, "cancel its resting orders")
        sent = await asyncio.to_thread(control.send, ctx.redis, symbol, command)
        _remember(patch, RETIRE_PROGRESS, RetireProgress(step, sent))
    try:
        ack = await asyncio.to_thread(
            control.wait_ack, ctx.redis, symbol, sent, ctx.settings.ack_wait_s
        )
    except control.AckLostError as error:  # the next attempt sends this step's command again
        _remember(patch, RETIRE_PROGRESS, RetireProgress(step))
        kopf.warn(body, reason="AcknowledgementLost", message=str(error))
        raise kopf.TemporaryError(str(error), delay=ctx.settings.retry_delay_s) from None
    if ack is None:
        await _wait_retiring(
            ctx,
            body,
            patch,
            symbol,
            f"waiting for the engine to acknowledge {type(command).__name__}",
        )
    # A Closed market refuses every state change, and takes nothing from traders already.
    kopf.info(body, reason="Retiring", message=control.describe(ack))
    if step == _RETIRE_STEPS - 1:
        patch.status["lastAppliedTradingState"] = TradingState.HALTED.value
        manifest = manifests.registry_manifest(body, TradingState.HALTED.value)
        await asyncio.to_thread(control.list_market, ctx.redis, manifest)
    return RetireProgress(step + 1)


async def _wait_retiring(
    ctx: Context, body: kopf.Body, patch: kopf.Patch, symbol: str, message: str
) -> NoReturn:
    await _report(ctx, body, patch, symbol, retiring=message)
    raise kopf.TemporaryError(message, delay=ctx.settings.retry_delay_s)


# ------------------------------------------------------------------ status


async def refresh_status(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any) -> None:
    """The heartbeat and the Deployment's readiness into the conditions; an event for each
    condition that flips. Nothing is written when nothing changed."""
    if body.meta.get("deletionTimestamp"):
        return
    symbol = body.status.get("symbol")
    if not isinstance(symbol, str) or not symbol:
        return  # never listed
    ctx = _context(memo)
    previous = list(body.status.get("conditions") or [])
    written = await _report(ctx, body, patch, symbol, problem=status.problem_of(previous))
    for condition in status.flips(previous, written.get("conditions", previous)):
        post = kopf.warn if status.is_trouble(condition) else kopf.info
        post(
            body,
            reason=f"{condition['type']}{condition['status']}",
            message=f"{condition['reason']}: {condition['message']}",
        )


async def _report(
    ctx: Context,
    body: kopf.Body,
    patch: kopf.Patch,
    symbol: str | None,
    *,
    applied: str | None = None,
    problem: status.Problem | None = None,
    retiring: str | None = None,
    handled: bool = False,
) -> dict[str, Any]:
    """Write the status as observed now (returns what changed; nothing if nothing did).
    `handled`: the spec's generation is done with, so it becomes observedGeneration."""
    name, namespace = body.meta.name or "", body.meta.namespace or ""
    deployment = await ctx.kube.get(DEPLOYMENTS, namespace, manifests.engine_name(name))
    beat = await asyncio.to_thread(control.heartbeat, ctx.redis, symbol) if symbol else None
    previous: dict[str, Any] = dict(body.status)
    applied = applied or previous.get("lastAppliedTradingState")
    if applied is None and beat is not None:
        applied = beat.trading_state  # what a newly started engine reports
    generation = int(body.meta.get("generation") or 0)
    observed = status.Observation(
        generation=generation,
        desired_state=_desired(body),
        applied_state=applied,
        engine_ready=status.deployment_ready(deployment),
        heartbeat_state=beat.trading_state if beat is not None else None,
        problem=problem,
        retiring=retiring,
    )
    new = status.status_patch(
        previous,
        observed,
        symbol=symbol,
        observed_generation=generation if handled else int(previous.get("observedGeneration", 0)),
        now=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    changed = {key: value for key, value in new.items() if previous.get(key) != value}
    if changed:
        patch.status.update(changed)
    return changed


async def _engine_down(
    ctx: Context, body: kopf.Body, patch: kopf.Patch, symbol: str, purpose: str
) -> NoReturn:
    message = f"no heartbeat from the engine: cannot {purpose} until it runs; retrying"
    await _report(ctx, body, patch, symbol, problem=status.Problem("EngineNotRunning", message))
    raise kopf.TemporaryError(message, delay=ctx.settings.retry_delay_s)


# ------------------------------------------------------------------ control requests


async def _send(
    ctx: Context,
    body: kopf.Body,
    patch: kopf.Patch,
    annotation: str,
    symbol: str,
    command: control.ControlCommand,
) -> control.Sent:
    """The command as already sent (kept in `annotation`), or sent now: never twice."""
    sent = _load(body, annotation, control.Sent)
    if sent is not None and sent.request_id == command.request_id:
        return sent
    if await asyncio.to_thread(control.heartbeat, ctx.redis, symbol) is None:
        await _engine_down(ctx, body, patch, symbol, f"send {type(command).__name__}")
    sent = await asyncio.to_thread(control.send, ctx.redis, symbol, command)
    _remember(patch, annotation, sent)
    kopf.info(
        body,
        reason="ControlSent",
        message=f"{type(command).__name__} {command.request_id} at {sent.command_id}",
    )
    return sent


def _load(body: kopf.Body, annotation: str, kind: type[T]) -> T | None:
    raw = body.meta.annotations.get(annotation)
    if not raw:
        return None
    try:
        return msgspec.json.decode(raw, type=kind)
    except msgspec.DecodeError:
        log.warning("ignoring a malformed annotation", extra={"annotation": annotation})
        return None


def _remember(patch: kopf.Patch, annotation: str, value: object) -> None:
    patch.meta.annotations[annotation] = msgspec.json.encode(value).decode()


def _forget(patch: kopf.Patch, body: kopf.Body, annotation: str) -> None:
    """Drop the annotation, whether stored already or only remembered in this call's patch."""
    if annotation in body.meta.annotations or annotation in patch.meta.annotations:
        patch.meta.annotations[annotation] = None


def _now_ms() -> int:
    return int(time.time() * 1000)
