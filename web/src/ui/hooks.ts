/** React bindings of the model's stores. */

import { createContext, useContext, useSyncExternalStore } from "react";
import type { Exchange } from "../state/exchange";
import type { FrameSignal, Store } from "../state/store";

export const ExchangeContext = createContext<Exchange | null>(null);

export function useExchange(): Exchange {
  const exchange = useContext(ExchangeContext);
  if (exchange === null) throw new Error("no Exchange in context");
  return exchange;
}

export function useStore<T>(store: Store<T>): T {
  return useSyncExternalStore(store.subscribe, store.get);
}

const NEVER = { subscribe: () => () => {}, get: () => 0 };

/** Re-render at most once a frame while `signal` changes (null: never). */
export function useSignal(signal: FrameSignal | null): number {
  const source = signal ?? NEVER;
  return useSyncExternalStore(source.subscribe, source.get);
}

const nothing = () => null;
const noSubscription = () => () => {};

/** A store's value, or null while there is no store (signed out). */
export function useMaybeStore<T>(store: Store<T> | null | undefined): T | null {
  return useSyncExternalStore(store?.subscribe ?? noSubscription, store?.get ?? nothing);
}
