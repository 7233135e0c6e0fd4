/** The entry point: builds the model once and renders the app into #root. */

import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import "./styles.css";
import { Exchange } from "./state/exchange";
import { App } from "./ui/App";
import { ExchangeContext } from "./ui/hooks";

const exchange = new Exchange();
exchange.start();
const root = document.getElementById("root");
if (root === null) throw new Error("index.html has no #root");
createRoot(root).render(
  <StrictMode>
    <ExchangeContext.Provider value={exchange}>
      <App />
    </ExchangeContext.Provider>
  </StrictMode>,
);
