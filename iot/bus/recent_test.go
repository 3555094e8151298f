package bus

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRecentReadsTheNewestOfASubject checks Recent returns a bay's newest
// readings of a kind, oldest first, up to its limit, without the others'.
func TestRecentReadsTheNewestOfASubject(t *testing.T) {
	_, _, js := setup(t)
	ctx := testCtx(t)
	since := time.Now().Add(-time.Minute)
	for i := 1; i <= 30; i++ {
		subj := reading(t, "wh1", "bay-1", "lc-1", KindWeight)
		if i%3 == 0 {
			subj = reading(t, "wh1", "bay-2", "lc-2", KindWeight)
		}
		_, _, err := Publish(ctx, js, subj, ReadingMsgID("lc", 1, uint64(i)), []byte(fmt.Sprint(i)))
		require.NoError(t, err)
	}
	filter, err := ReadingFilter("wh1", "bay-1", "", KindWeight)
	require.NoError(t, err)
	got, err := Recent(ctx, js, ReadingsStream, filter, since, 5)
	require.NoError(t, err)
	require.Len(t, got, 5)
	var data []string
	for _, m := range got {
		data = append(data, string(m.Data))
	}
	assert.Equal(t, []string{"23", "25", "26", "28", "29"}, data, "the newest five of bay-1, oldest first")

	got, err = Recent(ctx, js, ReadingsStream, filter, time.Now().Add(time.Minute), 5)
	require.NoError(t, err)
	assert.Empty(t, got, "nothing stored after since")
	none, err := ReadingFilter("wh1", "bay-9", "", KindWeight)
	require.NoError(t, err)
	got, err = Recent(ctx, js, ReadingsStream, none, since, 5)
	require.NoError(t, err)
	assert.Empty(t, got)
	_, err = Recent(ctx, js, ReadingsStream, filter, since, 0)
	assert.Error(t, err)
}
