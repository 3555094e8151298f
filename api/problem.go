package api

import (
	"errors"
	"fmt"
	"net/http"
	"sort"

	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/receipt"
)

// ProblemBase prefixes every problem type: the type of a rejection by the
// rule named N is ProblemBase + N, stable as long as the rule's name is.
const ProblemBase = "https://ewr.example/problems/"

// Problem is an RFC 9457 problem details body (application/problem+json).
// Type, Title and Status always; Code and Rule when a domain rule refused;
// TxHash and Height when the refusal was committed in a block; RequestID
// always, to find the server's log line.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Instance  string `json:"instance,omitempty"`
	Code      uint32 `json:"code,omitempty"`
	Rule      string `json:"rule,omitempty"`
	Kind      string `json:"kind,omitempty"`
	TxHash    string `json:"tx_hash,omitempty"`
	Height    int64  `json:"height,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	// Stage says where a rule refused the op: "check" (the node ran the
	// rules on committed state and did not submit) or "block" (the chain
	// committed the tx as rejected).
	Stage string `json:"stage,omitempty"`
}

func (p *Problem) Error() string {
	if p.Detail != "" {
		return p.Title + ": " + p.Detail
	}
	return p.Title
}

// StatusOf is the HTTP status of a rule error's kind.
func StatusOf(k receipt.Kind) int {
	switch k {
	case receipt.KindInvalid:
		return http.StatusBadRequest
	case receipt.KindForbidden:
		return http.StatusForbidden
	case receipt.KindNotFound:
		return http.StatusNotFound
	case receipt.KindConflict:
		return http.StatusConflict
	case receipt.KindRule:
		return http.StatusUnprocessableEntity
	}
	return http.StatusInternalServerError
}

// apiProblem is a problem type of the API itself (not a domain rule).
type apiProblem struct {
	Name   string
	Status int
	Title  string
}

// The API's own problem types. A domain rule's type is its Name; these
// never collide with one (TestProblemTypesAreDistinct).
var (
	PUnauthorized     = defProblem("unauthorized", 401, "missing or invalid bearer token")
	PTokenForbidden   = defProblem("token_forbidden", 403, "this token may not do that")
	PRouteNotFound    = defProblem("route_not_found", 404, "no such route")
	PNotFound         = defProblem("not_found", 404, "no such record")
	PMethodNotAllowed = defProblem("method_not_allowed", 405, "method not allowed on this route")
	PInvalidBody      = defProblem("invalid_body", 400, "request body is malformed")
	PInvalidParameter = defProblem("invalid_parameter", 400, "a path or query parameter is malformed")
	PBodyTooLarge     = defProblem("body_too_large", 413, "request body too large")
	PUnsupportedMedia = defProblem("unsupported_media_type", 415, "request body must be application/json")
	PIdemKeyReused    = defProblem("idempotency_key_reused", 409, "idempotency key already used with another request")
	PIdemKeyInvalid   = defProblem("idempotency_key_invalid", 400, "idempotency key must be 1 to 255 visible ASCII characters")
	PDraftNotFound    = defProblem("draft_not_found", 404, "no such draft")
	PDraftClosed      = defProblem("draft_closed", 409, "draft is no longer awaiting signatures")
	PKeyNotHeld       = defProblem("key_not_held", 409, "this node holds no signing key for the participant: sign offline and post the signature")
	PBadSignature     = defProblem("bad_signature", 400, "signature does not verify")
	PTxTooLarge       = defProblem("tx_too_large", 413, "tx: too large")
	PTxMalformed      = defProblem("tx_malformed", 400, "tx: malformed")
	PTxVersion        = defProblem("tx_version", 400, "tx: unknown version")
	PTxSigners        = defProblem("tx_signers", 400, "tx: signers and signatures do not match")
	PTxBadSig         = defProblem("tx_bad_signature", 400, "tx: bad signature")
	PTxChainID        = defProblem("tx_wrong_chain", 400, "tx: wrong chain id")
	PTxExpired        = defProblem("tx_expired", 409, "tx: expired")
	PTxExpiryRange    = defProblem("tx_expiry_range", 400, "tx: expiry too far ahead")
	PTxReplay         = defProblem("tx_replay", 409, "tx: already committed")
	PTxSignerKey      = defProblem("tx_signer_key", 403, "tx: signer's key is not the registered one")
	PNodeBusy         = defProblem("node_busy", 503, "node: too many txs waiting for their commit")
	PMempoolFull      = defProblem("mempool_full", 503, "node: mempool full")
	PNodeDuplicate    = defProblem("tx_duplicate", 409, "node: tx seen recently and not pending: committed, expired or dropped")
	PNodeRejected     = defProblem("tx_refused", 503, "node: mempool refused the tx")
	PNotReady         = defProblem("not_ready", 503, "the node has not committed a block yet")
	PProofUnavailable = defProblem("proof_unavailable", 503, "no signed header covers this state yet: retry")
	PTooManyStreams   = defProblem("too_many_streams", 503, "too many event streams open")
	// Per-participant limits (limits.go).
	PTooManyStreamsMine = defProblem("stream_limit", 429, "this participant has as many event streams open as it may")
	PTooManyDrafts      = defProblem("draft_limit", 429, "this participant has as many drafts awaiting signatures as it may")
	PRateLimited        = defProblem("rate_limited", 429, "too many requests from this token")
	PCosignerNotNeeded  = defProblem("cosigner_not_needed", 422, "a draft may name only the co-signers its op needs")
	PSimulatorDisabled  = defProblem("simulator_unavailable", 404, "no device simulator is wired into this node")
	PInternal           = defProblem("internal", 500, "internal error")
)

var apiProblems = map[string]*apiProblem{}

func defProblem(name string, status int, title string) *apiProblem {
	if _, dup := apiProblems[name]; dup {
		panic("api: problem defined twice: " + name)
	}
	p := &apiProblem{Name: name, Status: status, Title: title}
	apiProblems[name] = p
	return p
}

// APIProblemTypes lists the API's own problem types, by name.
func APIProblemTypes() []string {
	names := make([]string, 0, len(apiProblems))
	for n := range apiProblems {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// fail is a handler error that becomes one of the API's problems.
type fail struct {
	p      *apiProblem
	detail string
	extra  func(*Problem)
}

func (f *fail) Error() string { return f.p.Title + ": " + f.detail }

func failf(p *apiProblem, format string, args ...any) error {
	return &fail{p: p, detail: fmt.Sprintf(format, args...)}
}

// ruleCheck marks a rule error found by running the rules on committed
// state, before any submission.
type ruleCheck struct{ err error }

func (r *ruleCheck) Error() string { return r.err.Error() }
func (r *ruleCheck) Unwrap() error { return r.err }

// problemOf maps an error from a handler to the problem it answers with.
// Anything not recognised is internal: its text is logged, never sent.
func problemOf(err error) (*Problem, bool) {
	var f *fail
	if errors.As(err, &f) {
		p := &Problem{Type: ProblemBase + f.p.Name, Title: f.p.Title, Status: f.p.Status, Detail: f.detail}
		if f.extra != nil {
			f.extra(p)
		}
		return p, true
	}
	var re *chainengine.RuleError
	if errors.As(err, &re) {
		p := outcomeProblem(re.Outcome)
		if re.Height > 0 {
			p.Height = re.Height
		}
		if re.Outcome.Hash != ([32]byte{}) {
			p.TxHash = hashHex(re.Outcome.Hash)
		}
		if p.Status == http.StatusInternalServerError {
			return p, false
		}
		return p, true
	}
	if e, ok := receipt.AsError(err); ok {
		p := ruleProblem(e, err.Error())
		var rc *ruleCheck
		if errors.As(err, &rc) {
			p.Stage = "check"
		}
		return p, true
	}
	return &Problem{Type: ProblemBase + PInternal.Name, Title: PInternal.Title, Status: 500}, false
}

func ruleProblem(e *receipt.Error, detail string) *Problem {
	return &Problem{Type: ProblemBase + e.Name, Title: e.Msg, Status: StatusOf(e.Kind), Detail: detail,
		Code: e.Code, Rule: e.Name, Kind: e.Kind.String()}
}

// outcomeProblem maps a tx outcome that is not OK to its problem.
func outcomeProblem(out chainengine.TxOutcome) *Problem {
	mk := func(p *apiProblem) *Problem {
		return &Problem{Type: ProblemBase + p.Name, Title: p.Title, Status: p.Status, Detail: out.Log, Code: out.Code}
	}
	switch out.Codespace {
	case chainengine.CodespaceRule:
		if out.Code == chainengine.CodeInternal {
			return &Problem{Type: ProblemBase + PInternal.Name, Title: PInternal.Title, Status: 500, Code: out.Code}
		}
		if e, ok := receipt.LookupError(out.Code); ok {
			p := ruleProblem(e, out.Log)
			p.Stage = "block"
			if out.Index < 0 {
				p.Stage = "check" // CheckTx refused it: never in a block
			}
			return p
		}
	case chainengine.CodespaceTx:
		switch out.Code {
		case chainengine.CodeTxTooLarge:
			return mk(PTxTooLarge)
		case chainengine.CodeTxMalformed:
			return mk(PTxMalformed)
		case chainengine.CodeTxVersion:
			return mk(PTxVersion)
		case chainengine.CodeTxSigners:
			return mk(PTxSigners)
		case chainengine.CodeTxBadSig:
			return mk(PTxBadSig)
		case chainengine.CodeTxChainID:
			return mk(PTxChainID)
		case chainengine.CodeTxExpired:
			return mk(PTxExpired)
		case chainengine.CodeTxExpiryRange:
			return mk(PTxExpiryRange)
		case chainengine.CodeTxReplay:
			return mk(PTxReplay)
		case chainengine.CodeTxSignerKey:
			return mk(PTxSignerKey)
		}
	case chainengine.CodespaceNode:
		switch out.Code {
		case chainengine.CodeNodeMempoolFull:
			return mk(PMempoolFull)
		case chainengine.CodeNodeBusy:
			return mk(PNodeBusy)
		case chainengine.CodeNodeTooLarge:
			return mk(PTxTooLarge)
		case chainengine.CodeNodeDuplicate:
			return mk(PNodeDuplicate)
		case chainengine.CodeNodeRejected:
			return mk(PNodeRejected)
		}
	}
	return &Problem{Type: ProblemBase + PInternal.Name, Title: PInternal.Title, Status: 500}
}

// APIProblem describes one of the API's own problem types, by name.
func APIProblem(name string) (status int, title string, ok bool) {
	p, ok := apiProblems[name]
	if !ok {
		return 0, "", false
	}
	return p.Status, p.Title, true
}
