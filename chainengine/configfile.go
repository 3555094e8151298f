package chainengine

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	cmtcfg "github.com/cometbft/cometbft/config"
)

// ErrConfig wraps every config.toml decoding failure.
var ErrConfig = errors.New("chainengine: config")

// maxConfigBytes bounds config.toml; CometBFT's own is about 25 KiB.
const maxConfigBytes = 1 << 20

// readConfigFile applies the config.toml at path onto cfg.
//
// CometBFT reads config.toml with viper, which is not a dependency of ours,
// so this reads the subset of TOML that CometBFT's template writes: [tables]
// and [dotted.tables], key = value with strings, integers, booleans and
// one-line arrays of strings, and # comments. Keys are matched to the
// `mapstructure` tags of cmtcfg.Config; an unknown key or table is an error
// (a typo must not silently leave a default in place). Durations are strings
// ("10ms"); a []string may also be a comma-separated string, as the template
// writes statesync.rpc_servers.
func readConfigFile(path string, cfg *cmtcfg.Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if err := decodeConfigTOML(data, cfg); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func decodeConfigTOML(data []byte, cfg *cmtcfg.Config) error {
	if len(data) > maxConfigBytes {
		return fmt.Errorf("%w: file over %d bytes", ErrConfig, maxConfigBytes)
	}
	if !utf8.Valid(data) {
		return fmt.Errorf("%w: not utf-8", ErrConfig)
	}
	root := reflect.ValueOf(cfg).Elem()
	table := root
	tableName := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), maxConfigBytes)
	for lineNo := 1; sc.Scan(); lineNo++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		fail := func(format string, args ...any) error {
			return fmt.Errorf("%w: line %d: %s", ErrConfig, lineNo, fmt.Sprintf(format, args...))
		}
		if line[0] == '[' {
			end := strings.IndexByte(line, ']')
			if end < 0 || strings.TrimSpace(stripComment(line[end+1:])) != "" {
				return fail("bad table header %q", line)
			}
			tableName = strings.TrimSpace(line[1:end])
			t, err := findTable(root, tableName)
			if err != nil {
				return fail("%v", err)
			}
			table = t
			continue
		}
		eq := strings.IndexByte(line, '=')
		if eq <= 0 {
			return fail("expected key = value")
		}
		key := strings.TrimSpace(line[:eq])
		val, rest, err := parseTOMLValue(strings.TrimSpace(line[eq+1:]))
		if err != nil {
			return fail("%s: %v", key, err)
		}
		if strings.TrimSpace(stripComment(rest)) != "" {
			return fail("%s: trailing text %q", key, rest)
		}
		f, ok := fieldByTag(table, key)
		if !ok {
			return fail("unknown key %q in [%s]", key, tableName)
		}
		if err := setField(f, val); err != nil {
			return fail("%s: %v", key, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return nil
}

func stripComment(s string) string {
	if i := strings.IndexByte(s, '#'); i >= 0 {
		return s[:i]
	}
	return s
}

// findTable walks a dotted table name through the config's section pointers.
func findTable(root reflect.Value, name string) (reflect.Value, error) {
	v := root
	for _, part := range strings.Split(name, ".") {
		f, ok := fieldByTag(v, strings.TrimSpace(part))
		if !ok {
			return reflect.Value{}, fmt.Errorf("unknown table [%s]", name)
		}
		if f.Kind() == reflect.Pointer {
			if f.IsNil() {
				f.Set(reflect.New(f.Type().Elem()))
			}
			f = f.Elem()
		}
		if f.Kind() != reflect.Struct {
			return reflect.Value{}, fmt.Errorf("[%s] is not a table", name)
		}
		v = f
	}
	return v, nil
}

// fieldByTag finds the field of struct v tagged mapstructure:"name", looking
// into fields tagged ",squash" (the root's BaseConfig).
func fieldByTag(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("mapstructure")
		if tag == ",squash" {
			if f, ok := fieldByTag(v.Field(i), name); ok {
				return f, true
			}
			continue
		}
		if tag == name {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

var durationType = reflect.TypeOf(time.Duration(0))

func setField(f reflect.Value, val any) error {
	switch {
	case f.Type() == durationType:
		s, ok := val.(string)
		if !ok {
			return errors.New("want a duration string")
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		f.SetInt(int64(d))
	case f.Kind() == reflect.String:
		s, ok := val.(string)
		if !ok {
			return errors.New("want a string")
		}
		f.SetString(s)
	case f.Kind() == reflect.Bool:
		b, ok := val.(bool)
		if !ok {
			return errors.New("want true or false")
		}
		f.SetBool(b)
	case f.CanInt():
		var n int64
		switch x := val.(type) {
		case int64:
			n = x
		case string: // the template quotes some integers
			var err error
			if n, err = strconv.ParseInt(x, 10, 64); err != nil {
				return err
			}
		default:
			return errors.New("want an integer")
		}
		if f.OverflowInt(n) {
			return fmt.Errorf("%d out of range", n)
		}
		f.SetInt(n)
	case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
		var items []string
		switch x := val.(type) {
		case []string:
			items = x
		case string:
			for _, s := range strings.Split(x, ",") {
				if s = strings.TrimSpace(s); s != "" {
					items = append(items, s)
				}
			}
		default:
			return errors.New("want an array of strings")
		}
		if len(items) == 0 {
			f.Set(reflect.Zero(f.Type()))
			return nil
		}
		f.Set(reflect.ValueOf(items).Convert(f.Type()))
	default:
		return fmt.Errorf("unsupported field type %s", f.Type())
	}
	return nil
}

// parseTOMLValue parses one value at the start of s and returns it (string,
// int64, bool or []string) and the rest of s.
func parseTOMLValue(s string) (any, string, error) {
	switch {
	case strings.HasPrefix(s, `"`):
		return parseTOMLString(s)
	case strings.HasPrefix(s, "["):
		var items []string
		rest := strings.TrimSpace(s[1:])
		for {
			if strings.HasPrefix(rest, "]") {
				return items, rest[1:], nil
			}
			if !strings.HasPrefix(rest, `"`) {
				return nil, "", errors.New("arrays hold strings only, on one line")
			}
			item, r, err := parseTOMLString(rest)
			if err != nil {
				return nil, "", err
			}
			items = append(items, item.(string))
			rest = strings.TrimSpace(r)
			if strings.HasPrefix(rest, ",") {
				rest = strings.TrimSpace(rest[1:])
			} else if !strings.HasPrefix(rest, "]") {
				return nil, "", errors.New("expected , or ] in array")
			}
		}
	}
	end := strings.IndexAny(s, " \t#")
	if end < 0 {
		end = len(s)
	}
	word, rest := s[:end], s[end:]
	switch word {
	case "true":
		return true, rest, nil
	case "false":
		return false, rest, nil
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(word, "_", ""), 10, 64)
	if err != nil {
		return nil, "", fmt.Errorf("bad value %q", word)
	}
	return n, rest, nil
}

// parseTOMLString parses a basic string. Besides TOML's escapes it accepts
// \' and \/, which Go's template "js" escaping (used for paths) can emit.
func parseTOMLString(s string) (any, string, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			return b.String(), s[i+1:], nil
		case '\\':
			if i+1 >= len(s) {
				return nil, "", errors.New("unterminated escape")
			}
			i++
			switch e := s[i]; e {
			case '"', '\\', '\'', '/':
				b.WriteByte(e)
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'u', 'U':
				n := 4
				if e == 'U' {
					n = 8
				}
				if i+n >= len(s) {
					return nil, "", errors.New("short unicode escape")
				}
				r, err := strconv.ParseUint(s[i+1:i+1+n], 16, 32)
				if err != nil || !utf8.ValidRune(rune(r)) {
					return nil, "", errors.New("bad unicode escape")
				}
				b.WriteRune(rune(r))
				i += n
			default:
				return nil, "", fmt.Errorf("unknown escape \\%c", e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return nil, "", errors.New("unterminated string")
}
