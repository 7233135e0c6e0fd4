/**
 * What the API tells the page when it serves it (a JSON block in index.html): where the
 * WebSocket API is, whether the dev faucet is on, the market-order protection band.
 */

export interface WebConfig {
  readonly ws: string; // empty: `/ws` on this page's host, as the ingress routes it
  readonly faucet: boolean;
  readonly marketOrderBandBps: number;
}

const DEFAULTS: WebConfig = { ws: "", faucet: false, marketOrderBandBps: 500 };

export function readConfig(document: Document): WebConfig {
  const element = document.getElementById("cryptex-config");
  if (element === null || !element.textContent) return DEFAULTS;
  try {
    const raw = JSON.parse(element.textContent) as Partial<WebConfig>;
    return {
      ws: typeof raw.ws === "string" ? raw.ws : DEFAULTS.ws,
      faucet: raw.faucet === true,
      marketOrderBandBps:
        typeof raw.marketOrderBandBps === "number"
          ? raw.marketOrderBandBps
          : DEFAULTS.marketOrderBandBps,
    };
  } catch {
    return DEFAULTS;
  }
}

export function wsUrl(config: WebConfig, location: Location): string {
  if (config.ws) return config.ws;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws`;
}
