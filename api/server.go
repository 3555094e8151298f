package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ewrchain/ewr/api/snake"
	"github.com/ewrchain/ewr/api/web"
	"github.com/ewrchain/ewr/indexer"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/middleware/requestid"
)

// Config is what a Server needs. Chain, Node, Keys and Tokens are
// required; the rest are optional and their routes answer 503 (or empty
// lists) without them.
type Config struct {
	Chain  Chain
	Node   Submitter
	Prover Prover
	Keys   KeyRing
	Tokens *Tokens
	// Queries is the read model (lists, history, lineage, exposure). Without
	// it, lists walk the chain state, and history and lineage answer 503.
	Queries *indexer.Queries
	// IndexerStatus reports the read model's progress, for /readyz.
	IndexerStatus func() indexer.Status
	// IoT is the node's supervision, for metrics; Simulator the simulated
	// devices of `ewr run`, for POST /v1/simulator/faults.
	IoT       IoT
	Simulator Simulator
	// Readings serves a bay scale's recent readings (the member's NATS);
	// nil: the route answers 503.
	Readings Readings
	// ConsoleDemo, set only by `ewr run` (the demo world), lists its
	// participants and their tokens on the console's sign-in page.
	ConsoleDemo []ParticipantEntry
	// IdempotencyDir keeps idempotency records across restarts; empty keeps
	// them in memory only.
	IdempotencyDir string
	Logger         *slog.Logger
	// BodyLimit bounds a request body (default 1 MiB).
	BodyLimit int
	// CommitTimeout bounds how long an action waits for its block before it
	// answers "pending" (default 30 s).
	CommitTimeout time.Duration
	// MaxStreams bounds the open event streams (default 256);
	// StreamsPerParticipant one participant's (default
	// DefaultStreamsPerParticipant).
	MaxStreams            int
	StreamsPerParticipant int
	// DraftsPerParticipant bounds the drafts one participant started that
	// await signatures (default DefaultDraftsPerParticipant).
	DraftsPerParticipant int
	// RatePerS and RateBurst are each token's request bucket (defaults
	// DefaultRatePerS, DefaultRateBurst); RatePerS < 0 turns it off.
	RatePerS  float64
	RateBurst int
	// StreamHeartbeat is how often an idle event stream gets a comment
	// line (default 15 s); a client that left is noticed at a heartbeat.
	StreamHeartbeat time.Duration
}

// Server is the HTTP API of one node.
type Server struct {
	cfg     Config
	app     *fiber.App
	svc     *Service
	idem    *idemStore
	routes  []*Route
	openapi []byte
	// verifier is the /verify page, console the console's: each rendered
	// once, on first request.
	verifier, console func() ([]byte, error)
	log               *slog.Logger

	done     chan struct{} // closed by Shutdown: event streams end
	stopOnce sync.Once
	cancel   context.CancelFunc
	// reqs is every request's context, cancelled when Shutdown starts.
	// Not fasthttp's RequestCtx: its Done reads a field Shutdown writes
	// without a lock (a data race under -race).
	reqs       context.Context
	cancelReqs context.CancelFunc
	bg         sync.WaitGroup
	streams    atomic.Int64
	shapes     []routeShape
	cache      *respCache
	lim        *limits

	listeners struct {
		sync.Mutex
		l []*silentConns
	}
}

// New builds a server and starts its chain watcher.
func New(cfg Config) (*Server, error) {
	if cfg.Chain == nil || cfg.Node == nil || cfg.Keys == nil || cfg.Tokens == nil {
		return nil, errors.New("api: Chain, Node, Keys and Tokens are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = 1 << 20
	}
	if cfg.CommitTimeout <= 0 {
		cfg.CommitTimeout = 30 * time.Second
	}
	if cfg.MaxStreams <= 0 {
		cfg.MaxStreams = 256
	}
	if cfg.StreamHeartbeat <= 0 {
		cfg.StreamHeartbeat = sseHeartbeat
	}
	idem, err := openIdemStore(cfg.IdempotencyDir, cfg.Logger)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, idem: idem, log: cfg.Logger, done: make(chan struct{}), cache: newRespCache(), lim: newLimits(cfg)}
	s.svc = &Service{chain: cfg.Chain, node: cfg.Node, keys: cfg.Keys, ledger: ledger.New(), drafts: newDraftStore(cfg.DraftsPerParticipant),
		pending: newPendingSet(), commitTimeout: cfg.CommitTimeout, metrics: newMetrics(cfg.IoT), log: cfg.Logger,
		blocks: newBlockCache(cfg.Chain)}
	s.app = fiber.New(fiber.Config{
		AppName:               "ewr",
		BodyLimit:             cfg.BodyLimit,
		DisableStartupMessage: true,
		Immutable:             true, // strings from params and bodies outlive the handler (drafts, ops)
		CaseSensitive:         true,
		ReadTimeout:           30 * time.Second,
		IdleTimeout:           120 * time.Second,
		ErrorHandler:          s.errorHandler,
		Concurrency:           64 * 1024,
	})
	s.app.Use(requestid.New(requestid.Config{Header: "X-Request-ID", Generator: newRequestID}))
	s.app.Use(s.observe)
	s.app.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: func(c *fiber.Ctx, e any) {
		s.log.Error("api: panic", "request_id", requestID(c), "path", c.Path(), "panic", e, "stack", string(debug.Stack()))
	}}))
	s.routes = s.routeTable()
	for _, r := range s.routes {
		s.app.Add(r.Method, fiberPath(r.Path), s.wrap(r))
		s.shapes = append(s.shapes, newShape(r.Method, r.Path))
	}
	doc, err := s.buildOpenAPI()
	if err != nil {
		_ = idem.close()
		return nil, err
	}
	s.openapi = doc
	s.verifier = sync.OnceValues(web.VerifyPage)
	s.console = sync.OnceValues(func() ([]byte, error) {
		if s.cfg.ConsoleDemo == nil {
			return web.ConsolePage(nil) // a nil slice in an any is not nil: no demo list
		}
		return web.ConsolePage(s.cfg.ConsoleDemo)
	})
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.reqs, s.cancelReqs = context.WithCancel(context.Background())
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		s.svc.watch(ctx, s.log)
	}()
	return s, nil
}

// Serve serves HTTP on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	l := newSilentConns(ln)
	s.listeners.Lock()
	s.listeners.l = append(s.listeners.l, l)
	s.listeners.Unlock()
	return s.app.Listener(l)
}

// Shutdown ends the event streams, stops accepting requests, waits for
// those in flight (until ctx ends), and closes the idempotency store.
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	s.stopOnce.Do(func() {
		close(s.done)
		s.cancelReqs()
		// While fasthttp waits for connections to end, close those that
		// never sent a request (see silentConns).
		quiet := make(chan struct{})
		go func() {
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				s.listeners.Lock()
				ls := slices.Clone(s.listeners.l)
				s.listeners.Unlock()
				for _, l := range ls {
					l.closeSilent()
				}
				select {
				case <-quiet:
					return
				case <-tick.C:
				}
			}
		}()
		err = s.app.ShutdownWithContext(ctx)
		close(quiet)
		s.cancel()
		s.bg.Wait()
		err = errors.Join(err, s.idem.close())
	})
	return err
}

// Handler returns the fiber app, for tests that drive it in memory.
func (s *Server) Handler() *fiber.App { return s.app }

// OpenAPI returns the OpenAPI 3 document the server serves.
func (s *Server) OpenAPI() []byte { return s.openapi }

// Route is one endpoint: the route table drives the router, the OpenAPI
// document and the CLI.
type Route struct {
	Method  string
	Path    string // OpenAPI form: /v1/receipts/{id}
	Summary string
	Tag     string
	// Public routes need no token.
	Public bool
	// Request is the body's type (nil: none); Response the success body's,
	// ListOf the item type of a paged list.
	Request  reflect.Type
	Response reflect.Type
	ListOf   reflect.Type
	// Status is the success status.
	Status int
	Query  []Param
	// Action routes submit a tx: they take Idempotency-Key and ?wait=false.
	Action bool
	// CLI is the CLI command ("receipt transfer"); empty: none.
	CLI string
	// Read is a GET route's read policy (readPolicy).
	Read    Visibility
	handler func(rc *reqCtx) error
}

// Param is a query parameter.
type Param struct {
	Name, Type, Help string
}

// RouteInfo is the public description of a route, for the CLI.
type RouteInfo struct {
	Method, Path, Summary, CLI string
	Request                    reflect.Type
	Query                      []Param
	Action                     bool
	// Read is a GET route's read policy; ListOf a list's item type.
	Read   Visibility
	ListOf reflect.Type
}

// Routes describes the routes of a server with this configuration.
func Routes() []RouteInfo {
	s := &Server{}
	var out []RouteInfo
	for _, r := range s.routeTable() {
		out = append(out, RouteInfo{Method: r.Method, Path: r.Path, Summary: r.Summary, CLI: r.CLI, Request: r.Request, Query: r.Query, Action: r.Action,
			Read: r.Read, ListOf: r.ListOf})
	}
	return out
}

// fiberPath turns /v1/receipts/{id} into /v1/receipts/:id.
func fiberPath(p string) string {
	var b strings.Builder
	for _, seg := range strings.Split(p, "/") {
		if seg == "" {
			continue
		}
		b.WriteByte('/')
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			b.WriteString(":" + seg[1:len(seg)-1])
		} else {
			b.WriteString(seg)
		}
	}
	return b.String()
}

// routeShape matches a path against a route pattern, for 405 answers.
type routeShape struct {
	method string
	segs   []string // "" for a parameter
}

func newShape(method, p string) routeShape {
	sh := routeShape{method: method}
	for _, seg := range strings.Split(strings.Trim(p, "/"), "/") {
		if strings.HasPrefix(seg, "{") {
			seg = ""
		}
		sh.segs = append(sh.segs, seg)
	}
	return sh
}

func (sh routeShape) match(path string) bool {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if len(segs) != len(sh.segs) {
		return false
	}
	for i, s := range sh.segs {
		if s != "" && s != segs[i] {
			return false
		}
	}
	return true
}

func newRequestID() string {
	return strconv.FormatInt(time.Now().UnixNano()%1e12, 36) + "-" + strconv.FormatUint(reqSeq.Add(1), 36)
}

var reqSeq atomic.Uint64

func requestID(c *fiber.Ctx) string {
	if v, ok := c.Locals("requestid").(string); ok {
		return v
	}
	return string(c.Response().Header.Peek("X-Request-ID"))
}

// observe counts and times every request by route.
func (s *Server) observe(c *fiber.Ctx) error {
	t0 := time.Now()
	err := c.Next()
	if err != nil {
		if herr := s.errorHandler(c, err); herr != nil {
			return herr
		}
	}
	route := "unmatched"
	if r := c.Route(); r != nil && r.Path != "/" && r.Path != "" {
		route = r.Path
	}
	status := c.Response().StatusCode()
	s.svc.metrics.httpRequests.WithLabelValues(route, c.Method(), strconv.Itoa(status)).Inc()
	s.svc.metrics.httpDuration.WithLabelValues(route).Observe(time.Since(t0).Seconds())
	return nil
}

// errorHandler answers errors that reach fiber: unmatched routes, bodies
// over the limit, panics, and any handler error not already answered.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	var fe *fiber.Error
	if errors.As(err, &fe) {
		var p *apiProblem
		detail := ""
		switch fe.Code {
		case http.StatusNotFound:
			p, detail = PRouteNotFound, c.Method()+" "+c.Path()
			for _, sh := range s.shapes {
				if sh.match(c.Path()) {
					p = PMethodNotAllowed
				}
			}
		case http.StatusRequestEntityTooLarge:
			p, detail = PBodyTooLarge, fmt.Sprintf("at most %d bytes", s.cfg.BodyLimit)
		case http.StatusMethodNotAllowed:
			p = PMethodNotAllowed
		case http.StatusBadRequest, http.StatusRequestHeaderFieldsTooLarge, http.StatusRequestTimeout:
			p, detail = PInvalidBody, fe.Message
		}
		if p != nil {
			return s.writeProblem(c, &Problem{Type: ProblemBase + p.Name, Title: p.Title, Status: p.Status, Detail: detail})
		}
		if fe.Code < 500 {
			return s.writeProblem(c, &Problem{Type: ProblemBase + PInvalidBody.Name, Title: PInvalidBody.Title, Status: fe.Code, Detail: fe.Message})
		}
	}
	return s.answerError(c, err)
}

// answerError writes the problem for err; internal errors are logged with
// the request id and answered with a generic body.
func (s *Server) answerError(c *fiber.Ctx, err error) error {
	p, known := problemOf(err)
	if !known {
		s.log.Error("api: internal error", "request_id", requestID(c), "method", c.Method(), "path", c.Path(), "err", err)
		p = &Problem{Type: ProblemBase + PInternal.Name, Title: PInternal.Title, Status: 500,
			Detail: "the server logged this error under the request id"}
	}
	if p.Rule != "" && p.Stage == "check" {
		s.svc.metrics.rejected.WithLabelValues(p.Rule, "check").Inc()
	}
	return s.writeProblem(c, p)
}

func (s *Server) writeProblem(c *fiber.Ctx, p *Problem) error {
	p.RequestID = requestID(c)
	if p.Instance == "" {
		p.Instance = c.Path()
	}
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if p.Status == http.StatusUnauthorized {
		c.Set("WWW-Authenticate", `Bearer realm="ewr"`)
	}
	if p.Status == http.StatusServiceUnavailable {
		c.Set("Retry-After", "1")
	}
	c.Set("Content-Type", "application/problem+json")
	return c.Status(p.Status).Send(b)
}

// reqCtx is one request as the handlers see it.
type reqCtx struct {
	c    *fiber.Ctx
	s    *Server
	r    *Route
	who  string // the participant the token acts for
	slot *idemSlot
	rd   *reader // the read policy's reader, made once per request
}

// wrap runs a route: token, idempotency, handler, problem.
func (s *Server) wrap(r *Route) fiber.Handler {
	return func(c *fiber.Ctx) error {
		rc := &reqCtx{c: c, s: s, r: r}
		if !r.Public {
			who, ok := s.cfg.Tokens.Lookup(bearer(c.Get(fiber.HeaderAuthorization)))
			if !ok {
				detail := "no bearer token"
				if c.Get(fiber.HeaderAuthorization) != "" {
					detail = "token not recognised"
				}
				return s.answerError(c, failf(PUnauthorized, "%s", detail))
			}
			rc.who = who
			if wait, ok := s.lim.allow(who); !ok {
				return s.answerError(c, rc.rateLimited(wait))
			}
		}
		if r.Method == fiber.MethodPost {
			if ct := c.Get(fiber.HeaderContentType); len(c.Body()) > 0 && ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
				return s.answerError(c, failf(PUnsupportedMedia, "got %q", ct))
			}
		}
		key := c.Get("Idempotency-Key")
		if r.Method != fiber.MethodPost || key == "" || rc.who == "" {
			return s.run(rc)
		}
		if !validIdemKey(key) {
			return s.answerError(c, failf(PIdemKeyInvalid, "%d bytes", len(key)))
		}
		fp := fingerprint(c.Method(), c.OriginalURL(), c.Body())
		rec, slot, err := s.idem.begin(s.reqs, rc.who+"\x00"+key, fp)
		switch {
		case errors.Is(err, errIdemConflict):
			return s.answerError(c, failf(PIdemKeyReused, "key %q", key))
		case err != nil:
			return s.answerError(c, err)
		case rec != nil:
			c.Set("Idempotent-Replayed", "true")
			if rec.Location != "" {
				c.Set(fiber.HeaderLocation, rec.Location)
			}
			c.Set(fiber.HeaderContentType, rec.CType)
			return c.Status(rec.Status).Send(rec.Body)
		}
		rc.slot = slot
		finished := false
		defer func() {
			if !finished { // a panic: release waiting retries, then re-panic
				s.idem.finish(slot, 500, "", "", nil)
			}
		}()
		err = s.run(rc)
		resp := c.Response()
		s.idem.finish(slot, resp.StatusCode(), string(resp.Header.ContentType()), string(resp.Header.Peek(fiber.HeaderLocation)), resp.Body())
		finished = true
		return err
	}
}

// run calls the handler and answers its error as a problem.
func (s *Server) run(rc *reqCtx) error {
	if err := rc.r.handler(rc); err != nil {
		return s.answerError(rc.c, err)
	}
	return nil
}

// ctx is the request's context.
func (rc *reqCtx) ctx() context.Context { return rc.s.reqs }

// param is a path parameter, checked to be a well-formed id.
func (rc *reqCtx) id(name string) (string, error) {
	v := rc.c.Params(name)
	if !receipt.ValidID(v) {
		return "", failf(PInvalidParameter, "%s %q is not a valid id", name, v)
	}
	return v, nil
}

// body decodes the request body into v (an empty body is {}).
func (rc *reqCtx) body(v any) error {
	b := rc.c.Body()
	if len(strings.TrimSpace(string(b))) == 0 {
		b = []byte("{}")
	}
	if err := snake.Unmarshal(b, v); err != nil {
		return failf(PInvalidBody, "%v", err)
	}
	return nil
}

// reply writes v as JSON with status.
func (rc *reqCtx) reply(status int, v any) error {
	b, err := snake.Marshal(v)
	if err != nil {
		return err
	}
	rc.c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return rc.c.Status(status).Send(b)
}

// async reports whether the client asked not to wait for the block.
func (rc *reqCtx) async() bool {
	if w := rc.c.Query("wait"); w == "false" || w == "0" {
		return true
	}
	return strings.Contains(strings.ToLower(rc.c.Get("Prefer")), "respond-async")
}

// noCheck reports whether the client asked to submit without the rules
// being run on committed state first (?check=false).
func (rc *reqCtx) noCheck() bool { return rc.c.Query("check") == "false" }

// state is the committed state.
func (rc *reqCtx) state() receipt.Store {
	st, _ := rc.s.cfg.Chain.State()
	return st
}

// queryInt reads an integer query parameter (def if absent).
func (rc *reqCtx) queryInt(name string, def int64) (int64, error) {
	v := rc.c.Query(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, failf(PInvalidParameter, "%s must be an integer, got %q", name, v)
	}
	return n, nil
}

// page reads ?after= and ?limit= (1..1000, default 100).
func (rc *reqCtx) page() (indexer.Page, error) {
	lim, err := rc.queryInt("limit", indexer.DefaultPageSize)
	if err != nil {
		return indexer.Page{}, err
	}
	if lim < 1 || lim > indexer.MaxPageSize {
		return indexer.Page{}, failf(PInvalidParameter, "limit must be 1..%d", indexer.MaxPageSize)
	}
	return indexer.Page{After: rc.c.Query("after"), Limit: int(lim)}, nil
}
