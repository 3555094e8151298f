package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ewrchain/ewr/api"
	"github.com/ewrchain/ewr/api/apiclient"
	"github.com/ewrchain/ewr/api/snake"
)

// The resource commands (`ewr receipt transfer WR-1 --to trader-b`, `ewr
// lot get LOT-1`, `ewr loan list --bank bank-a`, ...) are made from the
// API's route table: one command per noun, one verb per route. Path
// parameters are positional; the body's fields and the query parameters
// are flags (snake_case becomes kebab-case); a field that is a list or an
// object takes JSON, or @file. Times accept unix seconds or "+90d".

// customNouns have hand-written commands of their own.
var customNouns = map[string]bool{"tx": true}

// localVerb is a hand-written verb of a resource noun that runs here, not
// through the API (`ewr device run`).
type localVerb struct {
	summary string
	run     func(ctx context.Context, args []string) error
}

// localVerbs are the hand-written verbs by noun (registered in init of
// their files, before main runs).
var localVerbs = map[string]map[string]localVerb{}

func init() {
	byNoun := map[string][]api.RouteInfo{}
	for _, r := range api.Routes() {
		if r.CLI == "" {
			continue
		}
		noun, _, _ := strings.Cut(r.CLI, " ")
		if customNouns[noun] {
			continue
		}
		byNoun[noun] = append(byNoun[noun], r)
	}
	for noun, rs := range byNoun {
		var verbs []string
		for _, r := range rs {
			_, verb, _ := strings.Cut(r.CLI, " ")
			if verb != "" {
				verbs = append(verbs, verb)
			}
		}
		for v := range localVerbs[noun] {
			verbs = append(verbs, v)
		}
		sort.Strings(verbs)
		summary := "API: " + strings.Join(verbs, ", ")
		if len(verbs) == 0 {
			summary = "API: " + rs[0].Summary
		}
		register(&command{name: noun, summary: summary, run: resourceCommand(noun, rs)})
	}
}

func resourceCommand(noun string, rs []api.RouteInfo) func(ctx context.Context, args []string) error {
	return func(ctx context.Context, args []string) error {
		verbOf := func(r api.RouteInfo) string { _, v, _ := strings.Cut(r.CLI, " "); return v }
		var route *api.RouteInfo
		if len(rs) == 1 && verbOf(rs[0]) == "" {
			route = &rs[0]
		} else {
			if len(args) > 0 {
				if lv, ok := localVerbs[noun][args[0]]; ok {
					return lv.run(ctx, args[1:])
				}
			}
			if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
				fmt.Fprintf(stderr, "usage: ewr %s <verb> [args] [flags]\n\nverbs:\n", noun)
				sorted := append([]api.RouteInfo(nil), rs...)
				sort.Slice(sorted, func(i, j int) bool { return sorted[i].CLI < sorted[j].CLI })
				for _, r := range sorted {
					fmt.Fprintf(stderr, "  %-18s %s\n", verbOf(r), r.Summary)
				}
				for _, v := range slices.Sorted(maps.Keys(localVerbs[noun])) {
					fmt.Fprintf(stderr, "  %-18s %s\n", v, localVerbs[noun][v].summary)
				}
				if len(args) == 0 {
					return usagef("which verb?")
				}
				return flag.ErrHelp
			}
			for i := range rs {
				if verbOf(rs[i]) == args[0] {
					route = &rs[i]
				}
			}
			if route == nil {
				return usagef("unknown verb %q for %s (ewr %s -h lists them)", args[0], noun, noun)
			}
			args = args[1:]
		}
		return runRoute(ctx, *route, args)
	}
}

// readVersion fills in the version of the record an action names when
// the user gave none: it reads the record first, as any client must, and
// says which version it acts on. The action is then refused if the record
// moved in between (stale_version); the server never fills it. The record
// is the path's: a receipt, a pledge, a loan, a lot or a participant; a
// receipt_version is the receipt's (of a pledge, its receipt's), a
// pledge_version that of the receipt's pledge.
func readVersion(ctx context.Context, cf *clientFlags, r api.RouteInfo, pos []string, doc map[string]any) error {
	if r.Request == nil {
		return nil
	}
	field := ""
	for _, f := range snake.Fields(r.Request) {
		if f.Name == "version" || f.Name == "receipt_version" || f.Name == "pledge_version" {
			field = f.Name
		}
	}
	if field == "" || doc[field] != nil {
		return nil
	}
	collection := ""
	for _, c := range []string{"receipts", "pledges", "loans", "lots", "participants"} {
		if strings.HasPrefix(r.Path, "/v1/"+c+"/{id}/") && len(pos) == 1 {
			collection = c
		}
	}
	var kind, id string
	switch {
	case collection != "":
		kind, id = strings.TrimSuffix(collection, "s"), pos[0]
	case r.Path == "/v1/offers":
		kind, id = "receipt", fmt.Sprint(doc["receipt"])
	default:
		return nil
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	var rec struct{ Version, State, Receipt, Pledge string }
	read := func(kind, id string) error {
		var raw json.RawMessage
		if err := c.Get(ctx, "/v1/"+kind+"s/"+url.PathEscape(id), &raw); err != nil {
			return err
		}
		var doc map[string]any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			return err
		}
		str := func(k string) string {
			if v, ok := doc[k]; ok && v != nil {
				return fmt.Sprint(v)
			}
			return ""
		}
		rec.Version, rec.Receipt, rec.Pledge = str("version"), str("receipt"), str("pledge")
		rec.State = str("state") + str("status")
		return nil
	}
	if err := read(kind, id); err != nil {
		return apiErr(err, *cf.json)
	}
	switch {
	case field == "receipt_version" && kind == "pledge":
		kind, id = "receipt", rec.Receipt
	case field == "pledge_version" && kind == "receipt":
		if rec.Pledge == "" {
			return nil // the rules will say there is no pledge
		}
		kind, id = "pledge", rec.Pledge
	}
	if id != pos0(pos) || kind != strings.TrimSuffix(collection, "s") {
		if err := read(kind, id); err != nil {
			return apiErr(err, *cf.json)
		}
	}
	v, err := strconv.ParseUint(rec.Version, 10, 64)
	if err != nil {
		return fmt.Errorf("%s %s: version %q", kind, id, rec.Version)
	}
	doc[field] = v
	fmt.Fprintf(stderr, "acting on %s %s at version %d (%s); --%s names another\n", kind, id, v, rec.State, kebab(field))
	return nil
}

func pos0(pos []string) string {
	if len(pos) == 0 {
		return ""
	}
	return pos[0]
}

// routeParams lists a route path's parameters, in order.
func routeParams(path string) []string {
	var out []string
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, "{") {
			out = append(out, strings.Trim(seg, "{}"))
		}
	}
	return out
}

func kebab(s string) string { return strings.ReplaceAll(s, "_", "-") }

// timeField reports whether a body field holds a time (unix seconds), so
// its flag takes "+90d" too.
func timeField(name string) bool {
	for _, s := range []string{"deadline", "maturity", "until", "_date", "expires_at"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

func runRoute(ctx context.Context, r api.RouteInfo, args []string) error {
	fs := newFlags(strings.TrimSpace(r.CLI))
	cf := addClientFlags(fs)
	body := fs.String("body", "", "the whole request body as JSON, or @file (flags override its fields)")
	noWait := fs.Bool("no-wait", false, "answer once the tx is accepted, without waiting for its block")
	noCheck := fs.Bool("no-check", false, "submit without the node checking the rules first (a refusal is then committed)")
	idemKey := fs.String("idempotency-key", "", "retries with the same key get the first answer")
	var position *bool
	if r.Path == "/v1/receipts/{id}/proof" {
		position = fs.Bool("position", false, "the position bundle: the receipt and every record a bank relies on for it, proven at one height")
	}
	type bodyFlag struct {
		name string // JSON key
		typ  reflect.Type
		val  *string
		b    *bool
	}
	var bflags []bodyFlag
	if r.Request != nil {
		for _, f := range snake.Fields(r.Request) {
			bf := bodyFlag{name: f.Name, typ: f.Type}
			help := "body field " + f.Name
			switch {
			case f.Type.Kind() == reflect.Bool:
				bf.b = fs.Bool(kebab(f.Name), false, help)
			case isComplex(f.Type):
				bf.val = fs.String(kebab(f.Name), "", help+" (JSON, or @file)")
			case timeField(f.Name) && f.Type.Kind() == reflect.Int64:
				bf.val = fs.String(kebab(f.Name), "", help+" (unix seconds, or +90d, +2h from now)")
			default:
				bf.val = fs.String(kebab(f.Name), "", help)
			}
			bflags = append(bflags, bf)
		}
	}
	qflags := map[string]*string{}
	for _, q := range r.Query {
		if fs.Lookup(kebab(q.Name)) == nil {
			qflags[q.Name] = fs.String(kebab(q.Name), "", q.Help)
		}
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	params := routeParams(r.Path)
	if len(pos) != len(params) {
		return usagef("%s takes %d argument(s): %s", r.CLI, len(params), strings.Join(params, " "))
	}
	path := r.Path
	if position != nil && *position {
		path = "/v1/receipts/{id}/position-proof"
	}
	for i, p := range params {
		path = strings.Replace(path, "{"+p+"}", url.PathEscape(pos[i]), 1)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	var reqBody []byte
	if r.Method == http.MethodPost {
		doc := map[string]any{}
		if *body != "" {
			raw, err := readArg(*body)
			if err != nil {
				return err
			}
			if err := json.Unmarshal(raw, &doc); err != nil {
				return usagef("--body: %v", err)
			}
		}
		now := time.Now()
		for _, bf := range bflags {
			if !set[kebab(bf.name)] {
				continue
			}
			if bf.b != nil {
				doc[bf.name] = *bf.b
				continue
			}
			v, err := flagJSON(bf.name, bf.typ, *bf.val, now)
			if err != nil {
				return usagef("--%s: %v", kebab(bf.name), err)
			}
			doc[bf.name] = v
		}
		if err := readVersion(ctx, cf, r, pos, doc); err != nil {
			return err
		}
		if reqBody, err = json.Marshal(doc); err != nil {
			return err
		}
	}
	q := url.Values{}
	for name, v := range qflags {
		if set[kebab(name)] {
			q.Set(name, *v)
		}
	}
	if *noWait {
		q.Set("wait", "false")
	}
	if *noCheck {
		q.Set("check", "false")
	}
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	var opts []apiclient.Option
	if *idemKey != "" {
		opts = append(opts, apiclient.IdempotencyKey(*idemKey))
	}
	if strings.HasSuffix(r.Path, "/events/stream") {
		return watchEvents(ctx, c, path, *cf.json)
	}
	var in any
	if reqBody != nil {
		in = reqBody
	}
	var raw []byte
	if _, err := c.Do(ctx, r.Method, path, in, &raw, opts...); err != nil {
		return apiErr(err, *cf.json)
	}
	// A proof bundle is a document to keep and hand to `ewr verify`, not
	// something to read: it is always printed as the API's JSON.
	if *cf.json || strings.HasSuffix(r.Path, "proof") {
		printJSON(raw)
	} else {
		printHuman(raw)
	}
	return nil
}

// isComplex reports whether a field takes JSON on the command line.
func isComplex(t reflect.Type) bool {
	if t.Implements(reflect.TypeFor[encoding.TextMarshaler]()) {
		return false
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map, reflect.Interface, reflect.Pointer:
		return true
	case reflect.Slice:
		return t.Elem().Kind() != reflect.Uint8
	}
	return t == reflect.TypeFor[json.RawMessage]()
}

// flagJSON turns a flag's text into the JSON value of a body field.
func flagJSON(name string, t reflect.Type, s string, now time.Time) (any, error) {
	if isComplex(t) {
		raw, err := readArg(s)
		if err != nil {
			return nil, err
		}
		// A list of strings may be given as a,b,c.
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String && !strings.HasPrefix(strings.TrimSpace(string(raw)), "[") {
			return strings.Split(string(raw), ","), nil
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, err
		}
		return v, nil
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if timeField(name) {
			n, err := parseTimeFlag(s, now)
			return json.Number(strconv.FormatInt(n, 10)), err
		}
		if _, err := strconv.ParseInt(s, 10, 64); err != nil {
			return nil, err
		}
		return json.Number(s), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if _, err := strconv.ParseUint(s, 10, 64); err != nil {
			return nil, fmt.Errorf("a whole number: %v", err)
		}
		return json.Number(s), nil
	}
	return s, nil
}

// readArg reads @file, or returns s.
func readArg(s string) ([]byte, error) {
	if strings.HasPrefix(s, "@") {
		return os.ReadFile(s[1:])
	}
	return []byte(s), nil
}

// watchEvents follows the server-sent event stream until interrupted: one
// line per event (its JSON with --json), reconnecting after the last event
// seen if the connection drops.
func watchEvents(ctx context.Context, c *apiclient.Client, path string, asJSON bool) error {
	last := ""
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+path, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+c.Token)
		if last != "" {
			req.Header.Set("Last-Event-ID", last)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if resp.StatusCode != http.StatusOK {
			_, err := c.Do(ctx, http.MethodGet, path, nil, nil) // for the problem
			resp.Body.Close()
			return apiErr(err, asJSON)
		}
		if !asJSON {
			fmt.Fprintln(stderr, "watching committed events (Ctrl-C stops)…")
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "id: "):
				last = line[4:]
			case strings.HasPrefix(line, "data: "):
				data := line[6:]
				if asJSON {
					fmt.Fprintln(stdout, data)
					continue
				}
				var ev api.EventView
				if json.Unmarshal([]byte(data), &ev) != nil {
					continue
				}
				var refs, attrs []string
				for _, r := range ev.Refs {
					refs = append(refs, r.Kind+":"+r.ID)
				}
				for k, v := range ev.Attrs {
					attrs = append(attrs, k+"="+v)
				}
				sort.Strings(attrs)
				fmt.Fprintf(stdout, "%-12s %-28s %s  %s\n", ev.ID, ev.Type, strings.Join(refs, " "), strings.Join(attrs, " "))
			}
		}
		resp.Body.Close()
		if ctx.Err() != nil {
			return nil
		}
		time.Sleep(time.Second)
	}
}
