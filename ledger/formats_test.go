package ledger

import (
	"bufio"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ewrchain/ewr/internal/canon"
	"github.com/ewrchain/ewr/receipt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var updateFormats = flag.Bool("update", false, "rewrite testdata/formats.golden and testdata/vectors.golden")

const (
	formatsGolden = "testdata/formats.golden"
	vectorsGolden = "testdata/vectors.golden"
)

// sample fills a value of t deterministically, every field set, so its
// encoding exercises every field: the golden vectors pin the bytes.
func sample(t reflect.Type) reflect.Value {
	n := 0
	var fill func(v reflect.Value, depth int)
	fill = func(v reflect.Value, depth int) {
		n++
		switch v.Kind() {
		case reflect.Bool:
			v.SetBool(n%2 == 1)
		case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uint:
			v.SetUint(uint64(n*37) % (1 << min(8*v.Type().Size(), 63)))
		case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Int:
			v.SetInt(-int64(n * 41 % 127))
		case reflect.String:
			v.SetString(fmt.Sprintf("s%d", n))
		case reflect.Slice:
			if depth > 3 {
				return
			}
			s := reflect.MakeSlice(v.Type(), 2, 2)
			for i := range 2 {
				fill(s.Index(i), depth+1)
			}
			v.Set(s)
		case reflect.Array:
			for i := range v.Len() {
				fill(v.Index(i), depth+1)
			}
		case reflect.Pointer:
			if depth > 3 {
				return
			}
			p := reflect.New(v.Type().Elem())
			fill(p.Elem(), depth+1)
			v.Set(p)
		case reflect.Struct:
			for i := range v.NumField() {
				fill(v.Field(i), depth+1)
			}
		}
	}
	v := reflect.New(t)
	fill(v.Elem(), 0)
	return v
}

func readGolden(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return map[string][]string{}
	}
	require.NoError(t, err)
	defer f.Close()
	out := map[string][]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			parts := strings.Split(line, "\t")
			out[parts[0]] = parts[1:]
		}
	}
	require.NoError(t, sc.Err())
	return out
}

// TestFormatsPinned pins every record's and op's canonical layout under
// its format version, and a sample value's bytes: a field added, removed,
// reordered or retyped without a new format version fails here, and so
// does an encoder change that would make stored state undecodable.
func TestFormatsPinned(t *testing.T) {
	formats := Formats()
	var fl, vl strings.Builder
	fl.WriteString("# name\tformat version\tcanonical layout (ledger.Layout); regenerate: go test ./ledger -run TestFormats -update\n")
	vl.WriteString("# name\tcanonical encoding of the test's sample value, hex\n")
	vectors := map[string]string{}
	for _, f := range formats {
		fmt.Fprintf(&fl, "%s\tv%d\t%s\n", f.Name, f.Version, Layout(f.Type))
		v := sample(f.Type)
		enc := hex.EncodeToString(canon.Marshal(v.Interface()))
		vectors[f.Name] = enc
		fmt.Fprintf(&vl, "%s\t%s\n", f.Name, enc)
	}
	if *updateFormats {
		require.NoError(t, os.MkdirAll(filepath.Dir(formatsGolden), 0o755))
		require.NoError(t, os.WriteFile(formatsGolden, []byte(fl.String()), 0o644))
		require.NoError(t, os.WriteFile(vectorsGolden, []byte(vl.String()), 0o644))
		t.Logf("wrote %s and %s", formatsGolden, vectorsGolden)
		return
	}
	pinned := readGolden(t, formatsGolden)
	pinnedVec := readGolden(t, vectorsGolden)
	seen := map[string]bool{}
	for _, f := range formats {
		seen[f.Name] = true
		p, ok := pinned[f.Name]
		if !assert.True(t, ok, "%s is not pinned: give it a format version and run -update", f.Name) {
			continue
		}
		version, layout := fmt.Sprintf("v%d", f.Version), Layout(f.Type)
		switch {
		case p[0] == version && p[1] != layout:
			t.Errorf("%s: layout changed under format %s (was %s, is %s): bump its version in ledger/formats.go and migrate the stored records",
				f.Name, version, p[1], layout)
		case p[0] != version:
			t.Errorf("%s: format %s, golden pins %s: regenerate with -update once the migration exists", f.Name, version, p[0])
		}
		if p[1] != layout {
			continue
		}
		// Same layout: the bytes must be the same, and the pinned bytes
		// must still decode to a value that encodes back to them.
		assert.Equal(t, pinnedVec[f.Name][0], vectors[f.Name], "%s: same layout, different bytes: the encoder changed", f.Name)
		raw, err := hex.DecodeString(pinnedVec[f.Name][0])
		require.NoError(t, err)
		back := reflect.New(f.Type)
		if assert.NoError(t, canon.Unmarshal(raw, back.Interface()), "%s: pinned bytes no longer decode", f.Name) {
			assert.Equal(t, raw, canon.Marshal(back.Interface()), "%s", f.Name)
		}
	}
	for name := range pinned {
		assert.True(t, seen[name], "%s is pinned but no longer exists: a removed type needs its stored records migrated away", name)
	}
}

// TestLayoutSeesEveryChange checks Layout tells apart what the encoding
// tells apart.
func TestLayoutSeesEveryChange(t *testing.T) {
	type a struct {
		X uint64
		Y string
	}
	type reordered struct {
		Y string
		X uint64
	}
	type retyped struct {
		X int64
		Y string
	}
	type added struct {
		X uint64
		Y string
		Z bool
	}
	type renamed struct {
		Q uint64
		R string
	}
	base := Layout(reflect.TypeOf(a{}))
	for _, other := range []any{reordered{}, retyped{}, added{}} {
		assert.NotEqual(t, base, Layout(reflect.TypeOf(other)), "%T", other)
	}
	assert.Equal(t, base, Layout(reflect.TypeOf(renamed{})), "a rename changes no byte")
}

// TestFormatsHaveUpgrades: a record type past its first format decodes
// every earlier one and a migration raises it to the current one, so a
// chain made by an earlier release can upgrade.
func TestFormatsHaveUpgrades(t *testing.T) {
	for _, r := range recordTable {
		cur := receipt.CurrentFormat(r.typ)
		legacy := map[byte]bool{}
		for _, l := range receipt.LegacyFormats(r.typ) {
			legacy[l.Version] = true
		}
		for v := byte(1); v < cur; v++ {
			assert.True(t, legacy[v], "record %s: format %d has no legacy layout", r.kind, v)
		}
		if cur == 1 {
			continue
		}
		raised := false
		for _, m := range Migrations {
			for _, k := range m.Formats {
				raised = raised || (k.Kind == r.kind && k.Version == cur)
			}
		}
		assert.True(t, raised, "record %s: no migration raises it to format %d", r.kind, cur)
	}
	for _, m := range Migrations {
		for _, k := range m.Formats {
			r, ok := kindNamed(k.Kind)
			require.True(t, ok, "migration %s names record kind %q", m.Name, k.Kind)
			assert.LessOrEqual(t, k.Version, receipt.CurrentFormat(r.typ), "migration %s", m.Name)
		}
	}
}
