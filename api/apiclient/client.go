// Package apiclient is a Go client of ewr's HTTP API: what the CLI, the
// scripted demo, the benchmark and the tests use. Bodies are the API's
// snake_case JSON (package snake); a refusal comes back as a *Problem,
// which unwraps to the domain rule's *receipt.Error when there is one.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ewrchain/ewr/api"
	"github.com/ewrchain/ewr/api/snake"
	"github.com/ewrchain/ewr/receipt"
)

// Client talks to one API server as one participant (its token).
type Client struct {
	BaseURL string // e.g. http://127.0.0.1:8080
	Token   string
	HTTP    *http.Client
}

// New returns a client of the server at baseURL.
func New(baseURL, token string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Token: token, HTTP: &http.Client{Timeout: 90 * time.Second}}
}

// As returns a client acting with another token.
func (c *Client) As(token string) *Client {
	cp := *c
	cp.Token = token
	return &cp
}

// Problem is a refusal: the RFC 9457 body the server answered with.
type Problem struct {
	api.Problem
	// Raw is the body as received.
	Raw []byte
}

func (p *Problem) Error() string {
	s := p.Title
	if p.Rule != "" {
		s += " (rule " + p.Rule + ")"
	}
	if p.Detail != "" && p.Detail != p.Title {
		s += ": " + p.Detail
	}
	return s
}

// Unwrap is the domain rule behind the problem, if any, so errors.Is
// works against the receipt package's sentinels.
func (p *Problem) Unwrap() error {
	if p.Code != 0 && p.Rule != "" {
		if e, ok := receipt.LookupError(p.Code); ok && e.Name == p.Rule {
			return e
		}
	}
	return nil
}

// Type is the problem type without the common prefix ("already_pledged").
func (p *Problem) Name() string { return strings.TrimPrefix(p.Type, api.ProblemBase) }

// Response is a successful answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Option tunes one request.
type Option func(*http.Request)

// IdempotencyKey sets the Idempotency-Key header.
func IdempotencyKey(k string) Option {
	return func(r *http.Request) { r.Header.Set("Idempotency-Key", k) }
}

// Header sets a header.
func Header(k, v string) Option { return func(r *http.Request) { r.Header.Set(k, v) } }

// Do sends a request. in is encoded as the API's JSON (nil: no body; a
// []byte or json.RawMessage is sent as is). out, if not nil, receives the
// answer (a *[]byte gets it raw). A non-2xx answer is a *Problem.
func (c *Client) Do(ctx context.Context, method, path string, in, out any, opts ...Option) (*Response, error) {
	var body io.Reader
	if in != nil {
		var b []byte
		switch v := in.(type) {
		case []byte:
			b = v
		case json.RawMessage:
			b = v
		default:
			var err error
			if b, err = snake.Marshal(in); err != nil {
				return nil, err
			}
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	for _, o := range opts {
		o(req)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		p := &Problem{Raw: raw}
		if json.Unmarshal(raw, &p.Problem) != nil || p.Type == "" {
			p.Problem = api.Problem{Type: "about:blank", Title: http.StatusText(resp.StatusCode), Status: resp.StatusCode, Detail: string(raw)}
		}
		if p.Status == 0 {
			p.Status = resp.StatusCode
		}
		return nil, p
	}
	r := &Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
	if out != nil {
		switch v := out.(type) {
		case *[]byte:
			*v = raw
		case *json.RawMessage:
			*v = raw
		default:
			if err := snake.Unmarshal(raw, out); err != nil {
				return r, fmt.Errorf("apiclient: %s %s: answer: %w", method, path, err)
			}
		}
	}
	return r, nil
}

// Get is Do with GET.
func (c *Client) Get(ctx context.Context, path string, out any) error {
	_, err := c.Do(ctx, http.MethodGet, path, nil, out)
	return err
}

// Post is Do with POST.
func (c *Client) Post(ctx context.Context, path string, in, out any, opts ...Option) error {
	_, err := c.Do(ctx, http.MethodPost, path, in, out, opts...)
	return err
}

// AsProblem returns the problem inside err.
func AsProblem(err error) (*Problem, bool) {
	var p *Problem
	ok := errors.As(err, &p)
	return p, ok
}

// Result is api.ActionResult with the resource still raw.
type Result = api.ActionResult

// Resource decodes an action result's resource into v.
func Resource(res *Result, v any) error {
	if res.Resource == nil {
		return errors.New("apiclient: the answer carries no resource")
	}
	return snake.UnmarshalValue(res.Resource, v)
}
