package member_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ewrchain/ewr/member"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConfigFile: a member's ewr.toml round-trips, and a typo or a missing
// API address is refused at load, not left as a default.
func TestConfigFile(t *testing.T) {
	home := t.TempDir()
	var c member.Config
	c.API.Listen = "127.0.0.1:8081"
	c.API.Participants = []string{"bank-a", "bank-b"}
	c.NATS.URL = "nats://10.0.0.5:4222"
	require.NoError(t, member.WriteConfig(home, &c))
	got, err := member.LoadConfig(home)
	require.NoError(t, err)
	c.Home = home
	assert.Equal(t, &c, got)
	raw, err := os.ReadFile(filepath.Join(home, member.ConfigFile))
	require.NoError(t, err)
	assert.Contains(t, string(raw), "# the participants whose keys this member holds", "the file explains itself")

	for name, doc := range map[string]string{
		"unknown key":    "[api]\nlisten = \"127.0.0.1:1\"\nparticipant = [\"bank-a\"]\n",
		"unknown table":  "[apis]\nlisten = \"127.0.0.1:1\"\n",
		"no API address": "[api]\nparticipants = [\"bank-a\"]\n",
		"not TOML":       "[api\n",
		"wrong type":     "[api]\nlisten = 8080\n",
	} {
		t.Run(name, func(t *testing.T) {
			h := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(h, member.ConfigFile), []byte(doc), 0o600))
			_, err := member.LoadConfig(h)
			assert.Error(t, err)
		})
	}
}
