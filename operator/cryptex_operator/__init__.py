"""The Cryptex operator: gives every `Market` resource its Redis streams, its registry entry and
its one matching-engine Deployment, drives trading-state changes through the market's command
stream, and on delete halts the market and releases every lock before it removes anything.

`manifests` and `status` are pure (no I/O), `control` talks to Redis, `kube` to the Kubernetes
API beyond what kopf does itself, and `handlers` wires them together for kopf."""
