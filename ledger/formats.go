package ledger

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/ewrchain/ewr/receipt"
)

// Wire and disk formats. A record's or op's canonical encoding is its
// Go fields in declaration order (internal/canon): reordering, adding,
// removing or retyping a field changes the bytes every node stores and
// every signer signed. Each record and op type therefore has a format
// version, and testdata/formats.golden pins, per type, the version and
// the layout it stands for; TestFormatsPinned fails when a layout
// changes under the same version. Changing a record's format means:
// register the new version with the old layout as a legacy
// (receipt.RegisterFormat), add the Migration that raises it
// (upgrade.go), and regenerate the golden files with
// `go test ./ledger -run TestFormats -update`; the old layout stays pinned
// as "record <kind>@<version>", since records in it stay on disk until the
// consortium upgrades.

// opFormatVersions holds the op types whose format moved past 1.
var opFormatVersions = map[string]uint16{
	// Version 2: the loan's or pledge's version the signer saw.
	"financing.loan.disburse": 2, "financing.loan.repay": 2, "financing.loan.collateral.add": 2,
	"financing.loan.default": 2, "financing.loan.cancel": 2,
	"pledge.reject": 2, "pledge.withdraw": 2, "pledge.release": 2, "pledge.invoke": 2,
	// Version 2: the lot's version the collateral manager saw.
	"iot.recount": 2,
}

// FormatVersion is the format version of a record kind ("receipt") or op
// type ("receipt.split").
func FormatVersion(name string) uint16 {
	if r, ok := kindNamed(name); ok {
		return uint16(receipt.CurrentFormat(r.typ))
	}
	if v, ok := opFormatVersions[name]; ok {
		return v
	}
	return 1
}

// Format is one pinned type: a record kind or an op type.
type Format struct {
	Name    string
	Version uint16
	Type    reflect.Type
}

// Formats lists every record kind (with its legacy layouts) and op type,
// sorted by name.
func Formats() []Format {
	var out []Format
	for _, r := range recordTable {
		out = append(out, Format{Name: "record " + r.kind, Version: FormatVersion(r.kind), Type: r.typ})
		for _, l := range receipt.LegacyFormats(r.typ) {
			out = append(out, Format{Name: fmt.Sprintf("record %s@%d", r.kind, l.Version), Version: uint16(l.Version), Type: reflect.TypeOf(l.Old)})
		}
	}
	for _, op := range AllOps() {
		out = append(out, Format{Name: "op " + op.Type(), Version: FormatVersion(op.Type()), Type: reflect.TypeOf(op).Elem()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Layout describes t's canonical encoding: the wire kinds of its fields
// in order, recursively, without their names (a rename does not change a
// byte). Two types with one layout encode every value alike.
func Layout(t reflect.Type) string {
	var b strings.Builder
	layout(&b, t, map[reflect.Type]bool{})
	return b.String()
}

func layout(b *strings.Builder, t reflect.Type, open map[reflect.Type]bool) {
	switch t.Kind() {
	case reflect.Bool:
		b.WriteString("bool")
	case reflect.Uint8:
		b.WriteString("u8")
	case reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uint:
		b.WriteString("uvar")
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Int:
		b.WriteString("zvar")
	case reflect.String:
		b.WriteString("str")
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			b.WriteString("bytes")
			return
		}
		b.WriteString("[")
		layout(b, t.Elem(), open)
		b.WriteString("]")
	case reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			fmt.Fprintf(b, "b%d", t.Len())
			return
		}
		fmt.Fprintf(b, "%d*", t.Len())
		layout(b, t.Elem(), open)
	case reflect.Pointer:
		b.WriteString("?")
		layout(b, t.Elem(), open)
	case reflect.Struct:
		if open[t] {
			b.WriteString("^" + t.Name())
			return
		}
		open[t] = true
		b.WriteString("{")
		for i := range t.NumField() {
			if i > 0 {
				b.WriteString(",")
			}
			layout(b, t.Field(i).Type, open)
		}
		b.WriteString("}")
		delete(open, t)
	default:
		fmt.Fprintf(b, "!%s", t.Kind())
	}
}
