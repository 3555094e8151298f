package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ewrchain/ewr/api"
	"github.com/ewrchain/ewr/api/apiclient"
)

// Where the CLI reads and writes. Tests swap them to feed a command and
// read what it printed.
var (
	stdin  io.Reader = os.Stdin
	stdout io.Writer = os.Stdout
	stderr io.Writer = os.Stderr
)

// Defaults of the CLI's connection to a running system.
const (
	defaultAPI      = "http://127.0.0.1:8080"
	defaultDataDir  = ".ewr"
	participantsRel = "participants.json"
)

// clientFlags are the flags every command that talks to the API takes.
type clientFlags struct {
	api          *string
	token        *string
	as           *string
	participants *string
	json         *bool
}

func addClientFlags(fs *flag.FlagSet) *clientFlags {
	return &clientFlags{
		api:          fs.String("api", envOr("EWR_API", defaultAPI), "API base URL (env EWR_API)"),
		token:        fs.String("token", "", "bearer token (default: env EWR_TOKEN, or --as)"),
		as:           fs.String("as", envOr("EWR_AS", ""), "act as this participant, with its token from the participants file (env EWR_AS)"),
		participants: fs.String("participants", envOr("EWR_PARTICIPANTS", filepath.Join(defaultDataDir, participantsRel)), "participants file of `ewr run`"),
		json:         fs.Bool("json", false, "print the API's JSON answer (for scripts)"),
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// client builds the API client: token from --token, EWR_TOKEN, or --as.
func (f *clientFlags) client() (*apiclient.Client, error) {
	tok := *f.token
	if tok == "" && *f.as == "" {
		tok = os.Getenv("EWR_TOKEN")
	}
	if tok == "" && *f.as != "" {
		ps, err := api.LoadParticipants(*f.participants)
		if err != nil {
			return nil, fmt.Errorf("--as %s: %w (is `ewr run` running here?)", *f.as, err)
		}
		t, ok := api.TokenOf(ps, *f.as)
		if !ok {
			return nil, usagef("--as %s: no such participant in %s", *f.as, *f.participants)
		}
		tok = t
	}
	return apiclient.New(*f.api, tok), nil
}

// parseInterspersed parses flags and positional arguments in any order.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// problemError is a refusal from the API, said for people.
type problemError struct{ p *apiclient.Problem }

func (e *problemError) Error() string {
	p := e.p
	var b strings.Builder
	fmt.Fprintf(&b, "refused: %s", p.Title)
	if p.Rule != "" {
		fmt.Fprintf(&b, " [rule %s, code %d, HTTP %d]", p.Rule, p.Code, p.Status)
	} else {
		fmt.Fprintf(&b, " [%s, HTTP %d]", p.Name(), p.Status)
	}
	if p.Detail != "" && p.Detail != p.Title {
		fmt.Fprintf(&b, "\n  %s", p.Detail)
	}
	if p.Stage == "block" {
		fmt.Fprintf(&b, "\n  committed as rejected in block %d, tx %s", p.Height, p.TxHash)
	}
	if p.Status >= 500 && p.RequestID != "" {
		fmt.Fprintf(&b, "\n  request id %s", p.RequestID)
	}
	return b.String()
}

// apiErr turns a client error into what the CLI reports; with --json the
// problem body is printed on stdout too, for scripts.
func apiErr(err error, asJSON bool) error {
	if p, ok := apiclient.AsProblem(err); ok {
		if asJSON {
			fmt.Fprintln(stdout, strings.TrimSpace(string(p.Raw)))
		}
		return &problemError{p: p}
	}
	return err
}

// printJSON prints a raw JSON answer on one line.
func printJSON(raw []byte) {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		b.Reset()
		b.Write(raw)
	}
	fmt.Fprintln(stdout, b.String())
}

// printHuman prints an API answer for people: an action's outcome, a list
// as a table, a record as key/value lines.
func printHuman(raw []byte) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		fmt.Fprintln(stdout, string(raw))
		return
	}
	m, isObj := v.(map[string]any)
	switch {
	case isObj && m["status"] != nil && m["op_type"] != nil && m["events"] != nil:
		printAction(m)
	case isObj && len(m) <= 2 && m["items"] != nil:
		items, _ := m["items"].([]any)
		printTable(items)
		if n, _ := m["next"].(string); n != "" {
			fmt.Fprintf(stdout, "(more: --after %s)\n", n)
		}
	case isObj:
		printKV(m)
	default:
		fmt.Fprintln(stdout, scalar(v))
	}
}

func printAction(m map[string]any) {
	status, _ := m["status"].(string)
	switch status {
	case api.StatusCommitted:
		fmt.Fprintf(stdout, "✓ %s committed in block %v (tx %s)\n", m["op_type"], m["height"], short(m["tx_hash"]))
	case api.StatusPending:
		fmt.Fprintf(stdout, "… %s submitted, not yet committed (tx %s): ewr tx get %s\n", m["op_type"], short(m["tx_hash"]), m["tx_hash"])
	case api.StatusAwaitingSignatures:
		d, _ := m["draft"].(map[string]any)
		fmt.Fprintf(stdout, "… %s awaits co-signers: draft %v\n", m["op_type"], d["id"])
		if aw, ok := d["awaiting"].([]any); ok {
			for _, p := range aw {
				fmt.Fprintf(stdout, "    %v approves with: ewr draft approve %v --as %v\n", p, d["id"], p)
			}
		}
		return
	}
	if evs, ok := m["events"].([]any); ok {
		for _, e := range evs {
			ev, _ := e.(map[string]any)
			var refs []string
			if rs, ok := ev["refs"].([]any); ok {
				for _, r := range rs {
					rm, _ := r.(map[string]any)
					refs = append(refs, fmt.Sprintf("%v:%v", rm["kind"], rm["id"]))
				}
			}
			var attrs []string
			if as, ok := ev["attrs"].(map[string]any); ok {
				keys := make([]string, 0, len(as))
				for k := range as {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					attrs = append(attrs, fmt.Sprintf("%s=%v", k, as[k]))
				}
			}
			fmt.Fprintf(stdout, "  %-28v %s  %s\n", ev["type"], strings.Join(refs, " "), strings.Join(attrs, " "))
		}
	}
	if r, ok := m["resource"].(map[string]any); ok {
		fmt.Fprintf(stdout, "%v %v now:\n", m["resource_kind"], m["resource_id"])
		printKV(r)
	}
}

func short(v any) string {
	s := fmt.Sprint(v)
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}

// columns a table prefers, in order; the first that items have are shown.
var preferredColumns = []string{"id", "height", "type", "state", "status", "holder", "quantity", "unit", "lot", "warehouse", "bay",
	"receipt", "commodity", "bank", "borrower", "seller", "buyer", "pledge", "outstanding", "price_minor", "minor_per_tonne",
	"currency", "locked_qty", "issued_qty", "health", "locked_by", "name", "roles", "version", "op_type", "signers", "awaiting", "time"}

const maxColumns = 8

func printTable(items []any) { printRows(items, false) }

// printRows prints items as a table: the preferred columns they have, or
// (every, or none preferred) all their fields, up to maxColumns.
func printRows(items []any, every bool) {
	if len(items) == 0 {
		fmt.Fprintln(stdout, "(none)")
		return
	}
	first, _ := items[0].(map[string]any)
	var cols []string
	for _, c := range preferredColumns {
		if _, ok := first[c]; ok && len(cols) < maxColumns && !every {
			cols = append(cols, c)
		}
	}
	if len(cols) == 0 {
		for k := range first {
			cols = append(cols, k)
		}
		sort.Strings(cols)
		if len(cols) > maxColumns {
			cols = cols[:maxColumns]
		}
	}
	// A quantity carries its unit and an amount its currency: those
	// columns fold into the figures they qualify.
	folded := cols[:0:0]
	for _, c := range cols {
		if (c == "unit" && slices.ContainsFunc(cols, isQuantity)) || (c == "currency" && slices.ContainsFunc(cols, isAmount)) {
			continue
		}
		folded = append(folded, c)
	}
	cols = folded
	tw := tabwriter.NewWriter(stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(cols, "\t")))
	for _, it := range items {
		m, _ := it.(map[string]any)
		row := make([]string, len(cols))
		for i, c := range cols {
			row[i] = humanCell(c, m)
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
}

func isQuantity(c string) bool {
	return c == "quantity" || c == "locked_qty" || c == "issued_qty" || c == "registered_qty"
}

func isAmount(c string) bool {
	return c == "price_minor" || c == "outstanding" || c == "principal" || c == "disbursed" || c == "amount_minor" || c == "value_minor" ||
		c == "minor_per_tonne"
}

// isTime: a column of unix seconds.
func isTime(c string) bool {
	return c == "time" || strings.HasSuffix(c, "_at") || c == "valid_until" || c == "storage_until" || c == "maturity" || c == "deadline" ||
		c == "calibrated_until" || c == "block_time"
}

// humanCell is one table cell for people: a quantity with its unit, an
// amount in its currency's major units, a time in local time, a list of
// records as a count, never JSON.
func humanCell(c string, m map[string]any) string {
	v := m[c]
	n, isNum := v.(json.Number)
	switch {
	case isNum && isQuantity(c):
		if u, _ := m["unit"].(string); u != "" {
			return groupDigits(n.String()) + " " + u
		}
		return groupDigits(n.String())
	case isNum && isAmount(c):
		if cur, _ := m["currency"].(string); cur != "" {
			return cur + " " + majorUnits(n.String())
		}
	case isNum && isTime(c):
		if sec, err := n.Int64(); err == nil && sec > 0 {
			return time.Unix(sec, 0).Local().Format("2006-01-02 15:04")
		}
		return "-"
	}
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			return "-"
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			if _, nested := x[k].(map[string]any); nested {
				continue
			}
			parts = append(parts, k+" "+humanCell(k, x))
		}
		return strings.Join(parts, ", ")
	case []any:
		if len(x) > 0 {
			if _, rec := x[0].(map[string]any); rec {
				return fmt.Sprintf("%d items", len(x))
			}
		}
	}
	return scalar(v)
}

// groupDigits writes an integer with thousands separators: 1,234,567.
func groupDigits(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if strings.ContainsAny(s, ".eE") {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// majorUnits writes an amount of minor units (cents) in major units,
// exactly: 4000000 → 40,000.00.
func majorUnits(minor string) string {
	if strings.ContainsAny(minor, "-.eE") {
		return minor
	}
	for len(minor) < 3 {
		minor = "0" + minor
	}
	return groupDigits(minor[:len(minor)-2]) + "." + minor[len(minor)-2:]
}

func printKV(m map[string]any) {
	tw := tabwriter.NewWriter(stdout, 0, 2, 2, ' ', 0)
	// A list of records in a record (a validator set's validators, the
	// formats in force) is a table of its own after the fields, not JSON
	// in a cell.
	var tables []string
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := m[k]
			if sub, ok := v.(map[string]any); ok && len(sub) > 0 && prefix == "" {
				walk(k+".", sub)
				continue
			}
			if l, ok := v.([]any); ok && prefix == "" && len(l) > 0 {
				if _, rec := l[0].(map[string]any); rec {
					tables = append(tables, k)
					continue
				}
			}
			fmt.Fprintf(tw, "%s%s\t%s\n", prefix, k, scalar(v))
		}
	}
	walk("", m)
	tw.Flush()
	for _, k := range tables {
		fmt.Fprintf(stdout, "\n%s:\n", k)
		printRows(m[k].([]any), true)
	}
}

func scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case string:
		if x == "" {
			return "-"
		}
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case []any:
		if len(x) == 0 {
			return "-"
		}
		parts := make([]string, 0, len(x))
		for _, e := range x {
			if _, ok := e.(map[string]any); ok {
				b, _ := json.Marshal(x)
				return string(b)
			}
			parts = append(parts, scalar(e))
		}
		return strings.Join(parts, ",")
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// parseTimeFlag reads a time: unix seconds, or "+90d", "+2h30m" from
// now, or "-1d" before now.
func parseTimeFlag(s string, now time.Time) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	if strings.HasPrefix(s, "+") || strings.HasPrefix(s, "-") {
		d, err := parseDuration(s[1:])
		if err != nil {
			return 0, err
		}
		if s[0] == '-' {
			d = -d
		}
		return now.Add(d).Unix(), nil
	}
	return 0, fmt.Errorf("%q is neither unix seconds nor +duration", s)
}

// parseDuration is time.ParseDuration with days ("90d", "1d12h").
func parseDuration(s string) (time.Duration, error) {
	if i := strings.Index(s, "d"); i > 0 {
		days, err := strconv.Atoi(s[:i])
		if err != nil {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		rest := time.Duration(0)
		if i+1 < len(s) {
			if rest, err = time.ParseDuration(s[i+1:]); err != nil {
				return 0, err
			}
		}
		return time.Duration(days)*24*time.Hour + rest, nil
	}
	return time.ParseDuration(s)
}
