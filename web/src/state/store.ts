/**
 * Observable values for the views (read with `useStore`), and `FrameSignal`, which turns any
 * number of changes into at most one render per animation frame: a book taking 100 diffs a
 * second renders at the display's rate, not at the wire's.
 */

export class Store<T> {
  private readonly listeners = new Set<() => void>();

  constructor(private value: T) {}

  readonly get = (): T => this.value;

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  set(value: T): void {
    if (Object.is(value, this.value)) return;
    this.value = value;
    for (const listener of this.listeners) listener();
  }

  update(change: (value: T) => T): void {
    this.set(change(this.value));
  }
}

export type RequestFrame = (callback: () => void) => void;

export function browserFrame(): RequestFrame {
  return (callback) => {
    window.requestAnimationFrame(() => callback());
  };
}

export class FrameSignal {
  /** Changes once per frame in which something happened. */
  version = 0;
  private pending = false;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly requestFrame: RequestFrame) {}

  readonly get = (): number => this.version;

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Something changed: render at the next frame (once, however often this is called). */
  bump(): void {
    if (this.pending) return;
    this.pending = true;
    this.requestFrame(() => {
      this.pending = false;
      this.version++;
      for (const listener of this.listeners) listener();
    });
  }
}
