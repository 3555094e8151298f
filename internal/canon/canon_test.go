package canon

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

type inner struct {
	A uint64
	B string
}

type sample struct {
	Flag  bool
	Small uint8
	U16   uint16
	U     uint64
	I     int64
	S     string
	Raw   []byte
	Key   [4]byte
	List  []inner
	Names []string
	Opt   *inner
	Skip  int `canon:"-"`
}

func TestRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		in := sample{
			Flag:  rapid.Bool().Draw(t, "flag"),
			Small: rapid.Uint8().Draw(t, "small"),
			U16:   rapid.Uint16().Draw(t, "u16"),
			U:     rapid.Uint64().Draw(t, "u"),
			I:     rapid.Int64().Draw(t, "i"),
			S:     rapid.String().Draw(t, "s"),
			Raw:   rapid.SliceOf(rapid.Byte()).Draw(t, "raw"),
			Names: rapid.SliceOf(rapid.String()).Draw(t, "names"),
		}
		copy(in.Key[:], rapid.SliceOfN(rapid.Byte(), 4, 4).Draw(t, "key"))
		for i, n := 0, rapid.IntRange(0, 5).Draw(t, "n"); i < n; i++ {
			in.List = append(in.List, inner{A: rapid.Uint64().Draw(t, "a"), B: rapid.String().Draw(t, "b")})
		}
		if rapid.Bool().Draw(t, "hasOpt") {
			in.Opt = &inner{A: rapid.Uint64().Draw(t, "oa")}
		}
		// Canonical form: empty slices decode as nil.
		if len(in.Raw) == 0 {
			in.Raw = nil
		}
		if len(in.Names) == 0 {
			in.Names = nil
		}
		b := Marshal(&in)
		var out sample
		require.NoError(t, Unmarshal(b, &out))
		assert.Equal(t, in, out)
		// One value, one encoding.
		assert.Equal(t, b, Marshal(out))
	})
}

func TestStrictDecoding(t *testing.T) {
	good := Marshal(inner{A: 300, B: "ok"})
	var v inner
	require.NoError(t, Unmarshal(good, &v))

	cases := map[string]struct {
		in   []byte
		want error
	}{
		"trailing byte":      {append(append([]byte{}, good...), 0), ErrTrailing},
		"truncated":          {good[:len(good)-1], ErrTruncated},
		"empty":              {nil, ErrTruncated},
		"non-minimal varint": {[]byte{0x80, 0x00, 0x00}, ErrNonCanonical},
		"length past input":  {[]byte{0x01, 0x10, 'a'}, ErrTruncated},
		"length over limit":  {append([]byte{0x01}, 0xff, 0xff, 0xff, 0x7f), ErrTooLong},
		"bad utf8":           {[]byte{0x01, 0x01, 0xff}, ErrBadUTF8},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := Unmarshal(c.in, &v)
			require.Error(t, err)
			assert.True(t, errors.Is(err, c.want), "got %v want %v", err, c.want)
		})
	}

	t.Run("bool other than 0 or 1", func(t *testing.T) {
		var b struct{ B bool }
		assert.ErrorIs(t, Unmarshal([]byte{2}, &b), ErrNonCanonical)
	})
	t.Run("pointer tag other than 0 or 1", func(t *testing.T) {
		var p struct{ P *inner }
		assert.ErrorIs(t, Unmarshal([]byte{2}, &p), ErrNonCanonical)
	})
	t.Run("uint8 field overflow via uint16", func(t *testing.T) {
		var s struct{ X uint16 }
		assert.ErrorIs(t, Unmarshal([]byte{0xff, 0xff, 0x7f}, &s), ErrNonCanonical)
	})
	t.Run("huge slice count on tiny input", func(t *testing.T) {
		var s struct{ L []inner }
		assert.ErrorIs(t, Unmarshal([]byte{0xff, 0xff, 0x0f}, &s), ErrTruncated)
	})
}

func TestUnsupportedTypesPanic(t *testing.T) {
	assert.Panics(t, func() { Marshal(struct{ M map[string]int }{}) })
	assert.Panics(t, func() { Marshal(struct{ F float64 }{}) })
	assert.Panics(t, func() { Marshal(struct{ I any }{}) })
	assert.Panics(t, func() { Marshal(struct{ x int }{}) })
}

func FuzzUnmarshal(f *testing.F) {
	f.Add(Marshal(sample{S: "seed", List: []inner{{A: 1}}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		var s sample
		if Unmarshal(data, &s) != nil {
			return
		}
		// Whatever decodes must re-encode to the very same bytes.
		if !bytes.Equal(Marshal(&s), data) {
			t.Fatalf("decoded value re-encodes differently")
		}
	})
}
