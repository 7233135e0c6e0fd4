/** Short announcements (a fill, a cancel, an error of the connection), read out by screen
 *  readers through a live region and gone after a few seconds. */

import { Store } from "./store";

export interface Notice {
  readonly id: number;
  readonly tone: "buy" | "sell" | "info" | "error";
  readonly text: string;
}

const SHOWN_MS = 6_000;
const MAX_SHOWN = 3;

export class Notices {
  readonly list = new Store<readonly Notice[]>([]);
  private nextId = 1;

  push(tone: Notice["tone"], text: string): void {
    const notice = { id: this.nextId++, tone, text };
    this.list.update((list) => [...list, notice].slice(-MAX_SHOWN));
    window.setTimeout(() => this.dismiss(notice.id), SHOWN_MS);
  }

  dismiss(id: number): void {
    this.list.update((list) => list.filter((notice) => notice.id !== id));
  }
}
