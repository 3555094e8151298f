package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"

	"github.com/ewrchain/ewr/api"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/member"
	"github.com/ewrchain/ewr/receipt"
)

// A member's home, as ewr testnet writes it and ewr node runs it:
//
//	ewr.toml            the member's NATS, read model and API (member.Config)
//	config/, data/      the CometBFT node and every store of the member
//	keys/<id>.key.json  the keys of the participants it acts for (ewr keys new)
//	participants.json   its API's bearer tokens for them

// memberParticipantsFile is the API tokens of a member's participants.
const memberParticipantsFile = "participants.json"

// memberOptions resolves what a member's config names: the keys of its
// participants (the demo world's derived ones with demo, else keys/<id>.json)
// and a bearer token for each, kept in participants.json across restarts.
func memberOptions(c *member.Config, demo bool) (member.Options, string, error) {
	keys := api.KeyMap{}
	for _, p := range c.API.Participants {
		if demo {
			keys[p] = ledger.DemoKey(ledger.DemoSeed, p)
			continue
		}
		kf, key, err := loadKeyFile(memberKeyFile(c.Home, p))
		if err != nil {
			return member.Options{}, "", fmt.Errorf("member %s: the key of %s: %w (make it with: ewr keys new --participant %s --dir %s)",
				c.Home, p, err, p, filepath.Join(c.Home, "keys"))
		}
		if kf.Participant != p {
			return member.Options{}, "", fmt.Errorf("member %s: %s is %q's key", c.Home, memberKeyFile(c.Home, p), kf.Participant)
		}
		keys[p] = key
	}
	path := filepath.Join(c.Home, memberParticipantsFile)
	have, err := api.LoadParticipants(path)
	if err != nil && !errors.Is(err, api.ErrNoParticipantsFile) {
		return member.Options{}, "", err
	}
	byID := map[string]api.ParticipantEntry{}
	for _, e := range have {
		byID[e.ID] = e
	}
	var entries []api.ParticipantEntry
	tokens := map[string]string{}
	for _, p := range c.API.Participants {
		e, ok := byID[p]
		if !ok || e.Token == "" {
			e = api.ParticipantEntry{ID: p, Token: api.NewToken()}
		}
		entries = append(entries, e)
		tokens[e.Token] = p
	}
	if err := api.SaveParticipants(path, entries); err != nil {
		return member.Options{}, "", err
	}
	return member.Options{Keys: keys, Tokens: tokens}, path, nil
}

// memberKeyFile is where a member's home keeps a participant's key:
// keys/<id>.key.json, as `ewr keys new --participant ID --dir HOME/keys`
// writes it (keys/<id>.json, if only that exists).
func memberKeyFile(home, participant string) string {
	p := filepath.Join(home, "keys", participant+".key.json")
	if old := filepath.Join(home, "keys", participant+".json"); !fileExists(p) && fileExists(old) {
		return old
	}
	return p
}

// runMember runs the member whose ewr.toml is in home until ctx ends.
func runMember(ctx context.Context, home string, demo bool, o member.Options) error {
	c, err := member.LoadConfig(home)
	if err != nil {
		return err
	}
	mo, pfile, err := memberOptions(c, demo)
	if err != nil {
		return err
	}
	mo.Logger, mo.ChainLogger, mo.Observer = o.Logger, o.ChainLogger, o.Observer
	m, err := member.Start(ctx, c, mo)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "ewr member %s running: node %s, API %s for %v (tokens in %s), events on NATS %s\n",
		filepath.Base(home), m.Node.ID(), m.URL, c.API.Participants, pfile, "EWR_EVENTS")
	<-ctx.Done()
	fmt.Fprintln(stderr, "ewr member: stopping")
	return m.Stop()
}

// demoMembers splits the demo world's participants among n members by what
// they do: the warehouses' people, the traders, the banks, the consortium
// (admins, regulator, oracle). With fewer members, groups share one.
func demoMembers(n int) [][]string {
	w := ledger.NewWorld(ledger.DemoSeed, 0)
	groups := make([][]string, 4)
	for _, p := range w.Genesis.Participants {
		g := 3
		switch {
		case p.Roles.Any(receipt.RoleOperator | receipt.RoleCollateralManager):
			g = 0
		case p.Roles.Any(receipt.RoleTrader):
			g = 1
		case p.Roles.Any(receipt.RoleBank):
			g = 2
		}
		groups[g] = append(groups[g], p.ID)
	}
	out := make([][]string, n)
	for g, ids := range groups {
		out[g%n] = append(out[g%n], ids...)
	}
	for i := range out {
		sort.Strings(out[i])
	}
	return out
}

// demoSupervision is, for each member's share of the demo world's
// participants, the warehouses it supervises: those whose collateral
// manager it serves, signing as that manager.
func demoSupervision(shares [][]string) [][]member.Supervision {
	world := ledger.NewWorld(ledger.DemoSeed, 0)
	out := make([][]member.Supervision, len(shares))
	for k, share := range shares {
		for _, w := range world.Genesis.Warehouses {
			if slices.Contains(share, w.CollateralManager) {
				out[k] = append(out[k], member.Supervision{Warehouse: w.ID, Signer: w.CollateralManager})
			}
		}
	}
	return out
}

// writeMemberConfigs writes each testnet home's ewr.toml: its API on
// apiBase+k (0: a free port at start), its participants and the
// warehouses it supervises. With hosts, member k is on hosts[k]: its API
// at apiBase and its embedded NATS at 4222 there.
func writeMemberConfigs(homes, hosts []string, apiBase int, shares [][]string, supervise [][]member.Supervision) error {
	peers, err := member.PeersOf(homes)
	if err != nil {
		return err
	}
	genesis, err := member.GenesisHash(homes[0])
	if err != nil {
		return err
	}
	for k, h := range homes {
		var c member.Config
		c.Genesis = genesis
		c.Peers = member.Others(peers, k)
		c.API.Listen = "127.0.0.1:0"
		switch {
		case hosts != nil:
			c.API.Listen = net.JoinHostPort(hosts[k], strconv.Itoa(apiBase))
			c.NATS.Listen = net.JoinHostPort(hosts[k], "4222")
		case apiBase != 0:
			c.API.Listen = fmt.Sprintf("127.0.0.1:%d", apiBase+k)
		}
		c.API.Participants = shares[k]
		c.Supervise = supervise[k]
		if err := member.WriteConfig(h, &c); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(h, "keys"), 0o700); err != nil {
			return err
		}
	}
	return nil
}
