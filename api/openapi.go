package api

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"

	"github.com/ewrchain/ewr/api/snake"
	"github.com/ewrchain/ewr/receipt"
	"github.com/gofiber/fiber/v2"
)

// buildOpenAPI renders the route table as an OpenAPI 3.0 document: every
// route with its parameters, body and answers, the schemas of the bodies
// as the API encodes them, and every problem type it can answer with.
func (s *Server) buildOpenAPI() ([]byte, error) {
	sc := snake.NewSchemas()
	problemRef := sc.Ref(reflect.TypeFor[Problem]())
	problemResp := map[string]any{"description": "a problem (RFC 9457)",
		"content": map[string]any{"application/problem+json": map[string]any{"schema": problemRef}}}
	paths := map[string]map[string]any{}
	for _, r := range s.routes {
		op := map[string]any{
			"summary":     r.Summary,
			"operationId": operationID(r),
			"tags":        []string{r.Tag},
		}
		if r.Read != "" {
			op["description"] = "Who sees it: " + r.Read.Describe()
			op["x-ewr-visibility"] = string(r.Read)
		}
		var params []any
		for _, seg := range strings.Split(r.Path, "/") {
			if strings.HasPrefix(seg, "{") {
				name := strings.Trim(seg, "{}")
				params = append(params, map[string]any{"name": name, "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
			}
		}
		for _, q := range r.Query {
			params = append(params, map[string]any{"name": q.Name, "in": "query", "description": q.Help, "schema": map[string]any{"type": q.Type}})
		}
		if r.Action {
			params = append(params,
				map[string]any{"name": "Idempotency-Key", "in": "header", "description": "retries with the same key and body get the first answer",
					"schema": map[string]any{"type": "string", "maxLength": maxIdemKeyLen}},
				map[string]any{"name": "wait", "in": "query", "description": "false: answer once the mempool accepted the tx (202 with its hash)",
					"schema": map[string]any{"type": "boolean"}},
				map[string]any{"name": "check", "in": "query", "description": "false: submit without running the rules on committed state first; a refusal is then committed in a block",
					"schema": map[string]any{"type": "boolean"}})
		}
		if r.Path == "/v1/events/stream" {
			params = append(params, map[string]any{"name": "Last-Event-ID", "in": "header", "description": "resume after this event id",
				"schema": map[string]any{"type": "string"}})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if r.Public {
			op["security"] = []any{} // explicitly none
		} else {
			op["security"] = []any{map[string]any{"bearer": []any{}}}
		}
		if r.Request != nil {
			op["requestBody"] = map[string]any{"content": map[string]any{"application/json": map[string]any{"schema": sc.Ref(r.Request)}}}
		}
		responses := map[string]any{"default": problemResp}
		ok := map[string]any{"description": "success"}
		switch {
		case r.Path == "/metrics":
			ok["content"] = map[string]any{"text/plain": map[string]any{"schema": map[string]any{"type": "string"}}}
		case r.Path == "/v1/events/stream":
			ok["content"] = map[string]any{"text/event-stream": map[string]any{"schema": map[string]any{"type": "string",
				"description": "server-sent events: id = height:tx:index, event = the event type, data = an EventView"}}}
		case r.Path == "/v1/openapi.json":
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}
		case r.ListOf != nil || strings.HasSuffix(r.CLI, " list") || r.Path == "/v1/alerts":
			items := map[string]any{"type": "object", "description": "a record"}
			if r.ListOf != nil {
				items = sc.Ref(r.ListOf)
			}
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": map[string]any{
				"type": "object", "additionalProperties": false,
				"properties": map[string]any{"items": map[string]any{"type": "array", "items": items},
					"next": map[string]any{"type": "string", "description": "cursor of the next page (?after=); absent after the last"}}}}}
		case r.Response != nil:
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": sc.Ref(r.Response)}}
		default:
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object", "description": "a record"}}}
		}
		responses[itoa3(r.Status)] = ok
		if r.Action {
			responses["202"] = map[string]any{"description": "pending (tx submitted; Location: /v1/txs/{hash}) or awaiting co-signers (Location: /v1/drafts/{id})",
				"content": map[string]any{"application/json": map[string]any{"schema": sc.Ref(reflect.TypeFor[ActionResult]())}}}
		}
		op["responses"] = responses
		p := paths[r.Path]
		if p == nil {
			p = map[string]any{}
			paths[r.Path] = p
		}
		p[strings.ToLower(r.Method)] = op
	}
	var problemTypes []any
	for _, e := range receipt.Errors() {
		problemTypes = append(problemTypes, map[string]any{"type": ProblemBase + e.Name, "title": e.Msg, "status": StatusOf(e.Kind), "code": e.Code})
	}
	for _, name := range APIProblemTypes() {
		p := apiProblems[name]
		problemTypes = append(problemTypes, map[string]any{"type": ProblemBase + p.Name, "title": p.Title, "status": p.Status})
	}
	comps := map[string]any{}
	for k, v := range sc.Components() {
		comps[k] = v
	}
	doc := map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title":   "ewr — electronic warehouse receipts",
			"version": "1",
			"description": "Receipts, lots, pledges, loans, offers and trades on a permissioned BFT chain. " +
				"Authenticate with a bearer token; a token acts for exactly one participant. Actions answer with the committed " +
				"result (or 202 with ?wait=false); ops that need several signers become drafts each co-signer approves with its own token. " +
				"Errors are RFC 9457 problems; their types are listed in x-problem-types.\n\n" +
				"What each party sees: the chain's validators hold and execute everything on chain, so every member's node has the " +
				"whole state. What a member's API serves is governed by one read policy (x-ewr-visibility on each GET): a participant " +
				"reads the records it is a party to (the holder, depositor and pending transferee of a receipt, the bank of its pledge, " +
				"the warehouse's operator, collateral manager and supervisors; the pledgor and bank of a pledge; the bank and borrower " +
				"of a loan; the bank of a credit policy; the parties and banks of an offer or trade); the regulator and the consortium " +
				"admins read everything; the directory, warehouses, bays, devices, prices, blocks and tx outcomes (without other " +
				"parties' events, writes and rejections) are public to every member. A record you may not read answers 404 as a " +
				"missing one; lists and the event stream hold only what you may read. Another bank learns that a receipt is pledged " +
				"and to whom, never the loan's amount or terms.",
		},
		"servers":          []any{map[string]any{"url": "/"}},
		"security":         []any{map[string]any{"bearer": []any{}}},
		"paths":            paths,
		"components":       map[string]any{"schemas": comps, "securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}}},
		"x-problem-types":  problemTypes,
		"x-problem-prefix": ProblemBase,
	}
	return json.MarshalIndent(doc, "", " ")
}

func operationID(r *Route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(r.Method))
	for _, seg := range strings.Split(r.Path, "/") {
		if seg == "" || seg == "v1" {
			continue
		}
		seg = strings.Trim(seg, "{}")
		for _, part := range strings.FieldsFunc(seg, func(c rune) bool { return c == '-' || c == '_' || c == '.' }) {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

func itoa3(n int) string {
	return string([]byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)})
}

// OpenAPIPaths lists the (method, path) pairs of an OpenAPI document, for
// the test that keeps the document true to the router.
func OpenAPIPaths(doc []byte) (map[string]bool, error) {
	var d struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for p, ops := range d.Paths {
		for m := range ops {
			out[strings.ToUpper(m)+" "+p] = true
		}
	}
	return out, nil
}

// RouterPaths lists the (method, path) pairs the router serves, in
// OpenAPI form ({id} for :id).
func (s *Server) RouterPaths() map[string]bool {
	out := map[string]bool{}
	for _, r := range s.app.GetRoutes(true) {
		if r.Method == fiber.MethodHead || (r.Path == "/" && r.Method != fiber.MethodGet) {
			continue
		}
		segs := strings.Split(r.Path, "/")
		for i, seg := range segs {
			if strings.HasPrefix(seg, ":") {
				segs[i] = "{" + seg[1:] + "}"
			}
		}
		out[r.Method+" "+strings.Join(segs, "/")] = true
	}
	return out
}

// sortedKeys returns m's keys sorted.
func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// OpenAPIDocument is the OpenAPI document every server serves at
// /v1/openapi.json (clients generate from it).
func OpenAPIDocument() ([]byte, error) {
	s := &Server{}
	s.routes = s.routeTable()
	return s.buildOpenAPI()
}
