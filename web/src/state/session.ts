/**
 * Who is signed in. The token is held for the tab (sessionStorage: a reload keeps it, another
 * tab or a closed browser does not); when it expires, or the API refuses it, the session ends
 * and the page asks to sign in again.
 */

import { Api } from "../net/api";
import type { AccountOut, TokenOut } from "../net/types";
import { Store } from "./store";

export interface SessionInfo {
  readonly token: string;
  readonly accountId: number;
  readonly email: string;
  readonly expiresAt: number; // epoch ms
}

const KEY = "cryptex.session";

export class Session {
  readonly info = new Store<SessionInfo | null>(null);
  /** Why the trader must sign in again, shown by the sign-in dialog. */
  readonly notice = new Store<string | null>(null);
  /** Whether the sign-in dialog is open, and in which mode. */
  readonly dialog = new Store<"signin" | "signup" | null>(null);
  private expiryTimer: number | null = null;

  constructor(
    private readonly storage: Storage,
    private readonly api: () => Api,
  ) {}

  token(): string | null {
    return this.info.get()?.token ?? null;
  }

  restore(): void {
    const raw = this.storage.getItem(KEY);
    if (raw === null) return;
    try {
      const saved = JSON.parse(raw) as SessionInfo;
      if (typeof saved.token !== "string" || saved.expiresAt <= Date.now()) {
        this.storage.removeItem(KEY);
        if (typeof saved.token === "string") this.expire();
        return;
      }
      this.begin(saved);
    } catch {
      this.storage.removeItem(KEY);
    }
  }

  async signIn(email: string, password: string): Promise<void> {
    const issued = await this.api().post<TokenOut>("/signin", { email, password });
    const info: SessionInfo = {
      token: issued.token,
      accountId: issued.accountId,
      email,
      expiresAt: Date.now() + issued.expiresIn * 1000,
    };
    this.begin(info);
    try {
      const me = await this.api().get<AccountOut>("/me");
      if (this.info.get()?.token === info.token) this.begin({ ...info, email: me.email });
    } catch {
      // the email typed is as good for display; a refused token ends the session by itself
    }
  }

  async signUp(email: string, password: string): Promise<void> {
    await this.api().post<unknown>("/signup", { email, password });
    await this.signIn(email, password);
  }

  signOut(): void {
    this.end();
    this.notice.set(null);
  }

  /** The token is no longer good: sign out and ask for a new sign-in. */
  expire(): void {
    if (this.info.get() === null && this.notice.get() !== null) return;
    this.end();
    this.notice.set("Your session has expired: sign in again.");
    this.dialog.set("signin");
  }

  private begin(info: SessionInfo): void {
    this.storage.setItem(KEY, JSON.stringify(info));
    this.notice.set(null);
    this.info.set(info);
    this.clearTimer();
    // setTimeout holds at most 2^31 - 1 ms (24.8 days); tokens live a day by default.
    const left = Math.min(info.expiresAt - Date.now(), 2 ** 31 - 1);
    this.expiryTimer = window.setTimeout(() => this.expire(), Math.max(0, left));
  }

  private end(): void {
    this.clearTimer();
    this.storage.removeItem(KEY);
    this.info.set(null);
  }

  private clearTimer(): void {
    if (this.expiryTimer !== null) window.clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
  }
}
