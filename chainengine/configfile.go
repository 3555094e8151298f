package chainengine

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	cmtcfg "github.com/cometbft/cometbft/config"
	toml "github.com/pelletier/go-toml/v2"
)

// ErrConfig wraps every config.toml decoding failure.
var ErrConfig = errors.New("chainengine: config")

// maxConfigBytes bounds config.toml; CometBFT's own is about 25 KiB.
const maxConfigBytes = 1 << 20

// readConfigFile applies the config.toml at path onto cfg.
//
// CometBFT reads config.toml with viper, which is not a dependency of ours:
// the file is parsed with go-toml, and its keys are matched to the
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
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return applyTable(reflect.ValueOf(cfg).Elem(), "", doc)
}

// applyTable sets the keys of one TOML table on the struct v (the table
// named name; "" the root), in key order so an error names the same key
// every time.
func applyTable(v reflect.Value, name string, table map[string]any) error {
	keys := make([]string, 0, len(table))
	for k := range table {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		val := table[key]
		if sub, ok := val.(map[string]any); ok {
			full := key
			if name != "" {
				full = name + "." + key
			}
			t, err := findTable(v, key)
			if err != nil {
				return fmt.Errorf("%w: unknown table [%s]", ErrConfig, full)
			}
			if err := applyTable(t, full, sub); err != nil {
				return err
			}
			continue
		}
		f, ok := fieldByTag(v, key)
		if !ok {
			return fmt.Errorf("%w: unknown key %q in [%s]", ErrConfig, key, name)
		}
		if list, ok := val.([]any); ok {
			strs := make([]string, len(list))
			for i, x := range list {
				s, ok := x.(string)
				if !ok {
					return fmt.Errorf("%w: [%s] %s: want an array of strings", ErrConfig, name, key)
				}
				strs[i] = s
			}
			val = strs
		}
		if err := setField(f, val); err != nil {
			return fmt.Errorf("%w: [%s] %s: %v", ErrConfig, name, key, err)
		}
	}
	return nil
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
