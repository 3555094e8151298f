// Package api is ewr's HTTP API (Fiber): resources under /v1 for
// participants, warehouses and bays, lots, receipts and their actions,
// pledges, deliveries, loans and margin calls, offers and trades, devices
// and alerts, blocks, txs and events; an OpenAPI 3 document of itself at
// /v1/openapi.json; /healthz, /readyz and Prometheus /metrics.
//
// What it owns:
//
//   - The service layer (service.go): resolve who must sign an op, check it
//     against committed state, sign with the key the node holds for the
//     token's participant, submit, map the outcome. Handlers, the CLI (over
//     HTTP) and the tests share it.
//   - Authentication (auth.go): a bearer token maps to exactly one
//     participant, and acts only for it. Clients that keep their own keys
//     submit txs they signed (POST /v1/txs; /v1/txs/encode gives the body
//     to sign).
//   - Co-signing (drafts.go): an op that needs several signers becomes a
//     draft; each co-signer approves with its own token, or posts a
//     signature made offline. No token ever signs for two participants.
//   - Problems (problem.go): every error is an RFC 9457 problem whose type
//     is stable per domain rule (ProblemBase + the rule's name); the rule's
//     kind decides the status (invalid 400, forbidden 403, not found 404,
//     conflict 409, rule 422). Nothing internal leaks on a 500.
//   - Idempotency keys on every POST (idempotency.go), body limits,
//     pagination, panic recovery, the live event stream (SSE), metrics.
//
// Words: an action is a POST that submits a tx; committed means its block
// is final; a draft is an op awaiting co-signers; a stage "check" problem
// was found by running the rules on committed state before submission,
// a stage "block" one is a tx the chain committed as rejected.
//
// JSON bodies are snake_case everywhere, the domain records and ops
// included (package snake): ReceiptVersion is receipt_version.
package api
