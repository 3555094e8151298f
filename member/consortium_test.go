package member_test

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/member"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConsortiumFileRefuses: a consortium file that would make a chain its
// members cannot rely on is refused at load, naming the fault: a key
// derived from the demo world's public seed, a key that is not a key, a
// participant served by two members, supervision signed by a participant
// the member does not serve, no validator, an unknown key in the file.
func TestConsortiumFileRefuses(t *testing.T) {
	pub := func(name string) string {
		k := ledger.DemoKey("this member's own "+name, name)
		return hex.EncodeToString(k.Public().(ed25519.PublicKey))
	}
	demo := hex.EncodeToString(ledger.DemoKey(ledger.DemoSeed, "bank-x").Public().(ed25519.PublicKey))
	doc := func(bankKey, members string) string {
		return fmt.Sprintf(`chain_id = "c-1"
admins = ["admin-1"]
threshold = 1

[[participants]]
id = "admin-1"
name = "Admin"
roles = ["admin"]
public_key = %q

[[participants]]
id = "bank-x"
name = "Bank X"
roles = ["bank"]
public_key = %q

[[participants]]
id = "wh-op"
name = "Operator"
roles = ["operator", "collateral_manager"]
public_key = %q

[[warehouses]]
id = "WH-1"
name = "W"
location = "Q"
operator = "wh-op"
collateral_manager = "wh-op"
%s`, pub("admin-1"), bankKey, pub("wh-op"), members)
	}
	good := "\n[[members]]\nname = \"m1\"\nparticipants = [\"admin-1\", \"wh-op\"]\nsupervise = [{ warehouse = \"WH-1\", signer = \"wh-op\" }]\n" +
		"\n[[members]]\nname = \"m2\"\nobserver = true\nparticipants = [\"bank-x\"]\n"
	load := func(s string) error {
		p := filepath.Join(t.TempDir(), "consortium.toml")
		require.NoError(t, os.WriteFile(p, []byte(s), 0o600))
		_, err := member.LoadConsortium(p)
		return err
	}
	require.NoError(t, load(doc(pub("bank-x"), good)))

	for name, c := range map[string]struct{ doc, want string }{
		"demo key":       {doc(demo, good), "demo world's public seed"},
		"not a key":      {doc("abcd", good), "public_key"},
		"served twice":   {doc(pub("bank-x"), good+"\n[[members]]\nname = \"m3\"\nparticipants = [\"bank-x\"]\n"), "served by m2 too"},
		"foreign signer": {doc(pub("bank-x"), "\n[[members]]\nname = \"m1\"\nparticipants = [\"admin-1\"]\nsupervise = [{ warehouse = \"WH-1\", signer = \"wh-op\" }]\n"), "must be one of its participants"},
		"no validator":   {doc(pub("bank-x"), "\n[[members]]\nname = \"m1\"\nobserver = true\nparticipants = [\"admin-1\"]\n"), "no member validates"},
		"no members":     {doc(pub("bank-x"), ""), "no [[members]]"},
		"unknown key":    {doc(pub("bank-x"), good+"\ncolour = \"blue\"\n"), "colour"},
		"unknown role":   {strings.Replace(doc(pub("bank-x"), good), `roles = ["bank"]`, `roles = ["banker"]`, 1), "roles"},
		"genesis rule":   {strings.Replace(doc(pub("bank-x"), good), `threshold = 1`, `threshold = 2`, 1), "threshold"},
		"unknown member": {doc(pub("bank-x"), good+"\n[[members]]\nname = \"m3\"\nparticipants = [\"ghost\"]\n"), "ghost"},
		"hosts for some": {doc(pub("bank-x"), strings.Replace(good, "name = \"m1\"\n", "name = \"m1\"\nhost = \"10.0.0.1\"\n", 1)), "every member's host or none"},
	} {
		t.Run(name, func(t *testing.T) {
			err := load(c.doc)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}
