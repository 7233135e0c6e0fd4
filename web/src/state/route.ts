/** One URL per market: `/trade/SOL_USDC`. Pure parsing; the app pushes history entries. */

const TRADE = /^\/trade\/([A-Za-z0-9]{2,10})[_\-/]([A-Za-z0-9]{2,10})\/?$/;

/** The market a path names, canonical (`/trade/sol-usdc` -> SOL_USDC), or null. */
export function symbolFromPath(path: string): string | null {
  const match = TRADE.exec(path);
  if (match === null) return null;
  return `${match[1]!.toUpperCase()}_${match[2]!.toUpperCase()}`;
}

export function pathForSymbol(symbol: string): string {
  return `/trade/${symbol}`;
}
