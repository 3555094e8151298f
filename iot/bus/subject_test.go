package bus

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidToken(t *testing.T) {
	for _, tc := range []struct {
		tok  string
		want bool
	}{
		{"wh1", true},
		{"BAY-07", true},
		{"scale_2", true},
		{strings.Repeat("a", MaxTokenLen), true},
		{"", false},
		{strings.Repeat("a", MaxTokenLen+1), false},
		{"a.b", false},
		{"*", false},
		{">", false},
		{"a b", false},
		{"a\tb", false},
		{"a:b", false},
		{"ä", false},
		{"a\x00", false},
	} {
		assert.Equal(t, tc.want, ValidToken(tc.tok), "%q", tc.tok)
	}
}

func TestReadingSubject(t *testing.T) {
	subj, err := ReadingSubject("wh1", "bay-07", "lc-3", KindWeight)
	require.NoError(t, err)
	assert.Equal(t, "ewr.readings.wh1.bay-07.lc-3.weight", subj)

	wh, bay, dev, kind, err := ParseReadingSubject(subj)
	require.NoError(t, err)
	assert.Equal(t, []string{"wh1", "bay-07", "lc-3", "weight"}, []string{wh, bay, dev, kind})

	for _, bad := range [][4]string{
		{"", "b", "d", "k"},
		{"w", "b.c", "d", "k"},
		{"w", "b", "*", "k"},
		{"w", "b", "d", ">"},
		{"w", "b", "d e", "k"},
	} {
		_, err := ReadingSubject(bad[0], bad[1], bad[2], bad[3])
		assert.ErrorIs(t, err, ErrInvalidToken, "%q", bad)
	}

	for _, bad := range []string{
		"ewr.readings.w.b.d",
		"ewr.readings.w.b.d.k.x",
		"ewr.events.w.b.d.k",
		"ewr.readings.w.b.*.k",
		"ewr.readings.w..d.k",
	} {
		_, _, _, _, err := ParseReadingSubject(bad)
		assert.Error(t, err, bad)
	}
}

func TestReadingFilter(t *testing.T) {
	for _, tc := range []struct {
		wh, bay, dev, kind, want string
	}{
		{"", "", "", "", "ewr.readings.>"},
		{"wh1", "", "", "", "ewr.readings.wh1.>"},
		{"wh1", "b1", "", "", "ewr.readings.wh1.b1.*.*"},
		{"", "", "", KindMotion, "ewr.readings.*.*.*.motion"},
		{"wh1", "b1", "cam1", KindMotion, "ewr.readings.wh1.b1.cam1.motion"},
	} {
		got, err := ReadingFilter(tc.wh, tc.bay, tc.dev, tc.kind)
		require.NoError(t, err)
		assert.Equal(t, tc.want, got)
	}
	_, err := ReadingFilter("wh.1", "", "", "")
	assert.ErrorIs(t, err, ErrInvalidToken)
}

func TestEventSubjectAndMsgID(t *testing.T) {
	subj, err := EventSubject("receipt_frozen")
	require.NoError(t, err)
	assert.Equal(t, "ewr.events.receipt_frozen", subj)
	subj, err = EventSubject("receipt.frozen")
	require.NoError(t, err)
	assert.Equal(t, "ewr.events.receipt.frozen", subj)
	for _, bad := range []string{"a..b", ".a", "a.", "a b", "a.*", ""} {
		_, err = EventSubject(bad)
		assert.ErrorIs(t, err, ErrInvalidToken, "%q", bad)
	}

	assert.Equal(t, "lc-3:1:42", ReadingMsgID("lc-3", 1, 42))
	assert.Equal(t, "lc-3:2:18446744073709551615", ReadingMsgID("lc-3", 2, ^uint64(0)))
	assert.NotEqual(t, ReadingMsgID("lc-3", 1, 5), ReadingMsgID("lc-3", 2, 5), "a restarted device's readings are new messages")
	assert.NoError(t, checkMsgID(ReadingMsgID(strings.Repeat("d", MaxTokenLen), ^uint64(0), ^uint64(0))),
		"the longest reading id fits MaxMsgIDLen")
}

func TestStreamForSubject(t *testing.T) {
	for _, tc := range []struct {
		subj, stream string
	}{
		{"ewr.readings.w.b.d.k", ReadingsStream},
		{"ewr.events.block", EventsStream},
	} {
		got, err := streamForSubject(tc.subj)
		require.NoError(t, err)
		assert.Equal(t, tc.stream, got)
	}
	for _, bad := range []string{
		"", "ewr", "ewr.readings", "ewr.readings.", "ewr.other.x", "foo.ewr.readings.x",
		"ewr.readings.w.*", "ewr.events.>", "ewr.events.a b", "ewr.events." + strings.Repeat("x", 400),
	} {
		_, err := streamForSubject(bad)
		assert.ErrorIs(t, err, ErrInvalidSubject, "%q", bad)
	}
}

func TestCheckMsgID(t *testing.T) {
	assert.NoError(t, checkMsgID("dev-1:7"))
	for _, bad := range []string{"", "a b", "a\nb", strings.Repeat("x", MaxMsgIDLen+1), "é"} {
		assert.ErrorIs(t, checkMsgID(bad), ErrInvalidMsgID, "%q", bad)
	}
}
