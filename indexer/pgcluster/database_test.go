package pgcluster

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseDatabaseURLKeepsConnectTimeout(t *testing.T) {
	u, err := ParseDatabaseURL("postgresql://u:secret@db.example:6432/ewr?connect_timeout=3&sslmode=require")
	require.NoError(t, err)
	assert.Equal(t, "3", u.Query().Get("connect_timeout"))
	assert.Equal(t, "require", u.Query().Get("sslmode"))
	assert.Equal(t, "postgresql://u:secret@db.example:6432/other?connect_timeout=3&sslmode=require", WithDatabase(u, "other"))

	_, err = ParseDatabaseURL("mysql://db/ewr")
	assert.ErrorIs(t, err, ErrBadDatabaseURL)
	_, err = ParseDatabaseURL("postgres://u:secret@db:bad port/ewr")
	require.ErrorIs(t, err, ErrBadDatabaseURL)
	assert.NotContains(t, err.Error(), "secret", "errors do not leak the password")
}
