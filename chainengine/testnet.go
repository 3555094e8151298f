package chainengine

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/crypto"
	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/types"
)

// ErrHomeExists means a home already holds keys; generating over it would
// lose them.
var ErrHomeExists = errors.New("chainengine: home already initialized")

// MaxValidators bounds a generated network; a consortium is a handful of
// members.
const MaxValidators = 64

// validatorPower is every generated validator's voting power: members are
// equals.
const validatorPower = 10

// member is one generated home before the genesis is written.
type member struct {
	cfg       *cmtcfg.Config
	nodeKey   *p2p.NodeKey
	validator types.GenesisValidator
}

// newMember creates home's directories, node key and validator key, and
// returns its tuned config (not yet written).
func newMember(home, moniker string) (*member, error) {
	if _, err := os.Stat(configPath(home)); err == nil {
		return nil, fmt.Errorf("%w: %s", ErrHomeExists, home)
	}
	// CometBFT's config template writes the moniker unescaped.
	if moniker == "" || strings.ContainsAny(moniker, "\"\\\n\r") {
		return nil, fmt.Errorf("chainengine: moniker %q must be non-empty, without quotes, backslashes or newlines", moniker)
	}
	cfg := cmtcfg.DefaultConfig()
	cfg.SetRoot(home)
	tuneConfig(cfg)
	cfg.Moniker = moniker
	for _, d := range []string{filepath.Join(home, "config"), filepath.Join(home, "data")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	for _, f := range []string{cfg.PrivValidatorKeyFile(), cfg.NodeKeyFile()} {
		if _, err := os.Stat(f); err == nil {
			return nil, fmt.Errorf("%w: %s", ErrHomeExists, f)
		}
	}
	nodeKey, err := p2p.LoadOrGenNodeKey(cfg.NodeKeyFile())
	if err != nil {
		return nil, fmt.Errorf("chainengine: node key: %w", err)
	}
	pv, err := privval.GenFilePV(cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile(),
		func() (crypto.PrivKey, error) { return ed25519.GenPrivKey(), nil })
	if err != nil {
		return nil, fmt.Errorf("chainengine: validator key: %w", err)
	}
	pv.Save()
	pub, err := pv.GetPubKey()
	if err != nil {
		return nil, err
	}
	return &member{
		cfg:       cfg,
		nodeKey:   nodeKey,
		validator: types.GenesisValidator{Address: pub.Address(), PubKey: pub, Power: validatorPower, Name: moniker},
	}, nil
}

// newGenesis returns the validated genesis of a chain with these validators.
// appState is the app's genesis (the receipt app's first consortium); nil
// means "{}".
func newGenesis(chainID string, appState json.RawMessage, vals []types.GenesisValidator) (*types.GenesisDoc, error) {
	if len(appState) == 0 {
		appState = json.RawMessage("{}")
	}
	if !json.Valid(appState) {
		return nil, errors.New("chainengine: app state is not valid JSON")
	}
	params := types.DefaultConsensusParams()
	// Genesis validation panics if evidence may be larger than a block.
	params.Evidence.MaxBytes = min(params.Evidence.MaxBytes, params.Block.MaxBytes)
	// Proposer-based timestamps: a block's time is its proposer's clock,
	// which the other validators accept only if timely (within the
	// synchrony bounds of their own). Without them a block's time is the
	// median of the previous block's precommit times, which after an idle
	// spell lags the present by the whole spell; sensor evidence is judged
	// against block time (its freshness window, the lock as it stood when a
	// reading was taken), so block time must be now.
	params.Feature.PbtsEnableHeight = 1
	gen := &types.GenesisDoc{
		GenesisTime:     time.Now().UTC().Truncate(time.Millisecond),
		ChainID:         chainID,
		InitialHeight:   1,
		ConsensusParams: params,
		Validators:      vals,
		AppState:        appState,
	}
	if err := gen.ValidateAndComplete(); err != nil {
		return nil, fmt.Errorf("chainengine: genesis: %w", err)
	}
	return gen, nil
}

// InitHome creates one member's home: keys, a tuned config.toml, and a
// genesis in which it is the only validator (a single-member chain, or the
// starting point before a consortium's genesis is assembled). RPC listens on
// 127.0.0.1:26657 and p2p on 0.0.0.0:26656; edit config.toml to change them.
// InitHome refuses a home that already has a config.
func InitHome(home, moniker, chainID string, appState json.RawMessage) error {
	m, err := newMember(home, moniker)
	if err != nil {
		return err
	}
	m.cfg.RPC.ListenAddress = "tcp://127.0.0.1:26657"
	gen, err := newGenesis(chainID, appState, []types.GenesisValidator{m.validator})
	if err != nil {
		return err
	}
	if err := gen.SaveAs(m.cfg.GenesisFile()); err != nil {
		return err
	}
	return WriteConfig(m.cfg)
}

// NodePorts are one generated node's loopback listen ports.
type NodePorts struct {
	P2P int
	RPC int // 0: RPC off
	// Host is the node's address, as its peers reach it; empty: 127.0.0.1.
	// A node on another host listens on all its interfaces and advertises
	// Host; its RPC stays on its own loopback.
	Host string
}

func (p NodePorts) host() string {
	if p.Host == "" {
		return "127.0.0.1"
	}
	return p.Host
}

// GenerateTestnet writes n validator homes, outDir/node0 .. node<n-1>, sharing
// one genesis in which each has equal power. Each home's config.toml has its
// own p2p and RPC ports on 127.0.0.1 and lists the others as persistent peers
// by node id, so `ewr node --home outDir/nodeI` joins with no flags.
//
// Node i listens for p2p on basePort+2i and RPC on basePort+2i+1 (basePort
// 26656 gives node0 CometBFT's usual ports). basePort 0 picks free ports.
//
// For validators on several hosts, generate as here, copy each home to its
// host, then in each config.toml set p2p.laddr to "tcp://0.0.0.0:<port>",
// p2p.external_address to the host's reachable address, and replace
// 127.0.0.1 in p2p.persistent_peers with the peers' addresses. Nothing else
// depends on the addresses.
func GenerateTestnet(n int, outDir, chainID string, appState json.RawMessage, basePort int) ([]string, error) {
	var ports []NodePorts
	if basePort != 0 {
		if basePort < 1024 || basePort+2*n > 65535 {
			return nil, fmt.Errorf("chainengine: base port %d out of range", basePort)
		}
		for i := range n {
			ports = append(ports, NodePorts{P2P: basePort + 2*i, RPC: basePort + 2*i + 1})
		}
	} else {
		free, err := FreePorts(2 * n)
		if err != nil {
			return nil, err
		}
		for i := range n {
			ports = append(ports, NodePorts{P2P: free[2*i], RPC: free[2*i+1]})
		}
	}
	return generateTestnet(outDir, chainID, appState, ports)
}

// GenerateTestnetOn writes one home per host, each node on its host at
// p2pPort (one node per host), its RPC on its own loopback at rpcPort. The
// first validators hosts validate; the others are observers: full nodes
// whose keys are not in the genesis validator set.
func GenerateTestnetOn(hosts []string, validators int, outDir, chainID string, appState json.RawMessage, p2pPort, rpcPort int) ([]string, error) {
	ports := make([]NodePorts, len(hosts))
	for i, h := range hosts {
		if net.ParseIP(h) == nil {
			return nil, fmt.Errorf("chainengine: host %q is not an IP address", h)
		}
		ports[i] = NodePorts{P2P: p2pPort, RPC: rpcPort, Host: h}
	}
	return generateNetwork(outDir, chainID, appState, ports, validators)
}

// GenerateObservers is GenerateTestnet with observers more homes after the
// validators': full nodes on loopback that do not validate.
func GenerateObservers(n, observers int, outDir, chainID string, appState json.RawMessage) ([]string, error) {
	free, err := FreePorts(2 * (n + observers))
	if err != nil {
		return nil, err
	}
	ports := make([]NodePorts, n+observers)
	for i := range ports {
		ports[i] = NodePorts{P2P: free[2*i], RPC: free[2*i+1]}
	}
	return generateNetwork(outDir, chainID, appState, ports, n)
}

// NodeHome is the home of node i of a generated testnet.
func NodeHome(outDir string, i int) string { return filepath.Join(outDir, "node"+strconv.Itoa(i)) }

func generateTestnet(outDir, chainID string, appState json.RawMessage, ports []NodePorts) ([]string, error) {
	return generateNetwork(outDir, chainID, appState, ports, len(ports))
}

// generateNetwork writes a home per port set; the first validators are
// the genesis validators.
func generateNetwork(outDir, chainID string, appState json.RawMessage, ports []NodePorts, validators int) ([]string, error) {
	n := len(ports)
	if validators < 1 || validators > MaxValidators || n < validators || n > 2*MaxValidators {
		return nil, fmt.Errorf("chainengine: %d validators of %d nodes; want 1..%d validators", validators, n, MaxValidators)
	}
	members := make([]*member, n)
	homes := make([]string, n)
	var vals []types.GenesisValidator
	for i := range n {
		homes[i] = NodeHome(outDir, i)
		m, err := newMember(homes[i], "node"+strconv.Itoa(i))
		if err != nil {
			return nil, err
		}
		members[i] = m
		if i < validators {
			vals = append(vals, m.validator)
		}
	}
	gen, err := newGenesis(chainID, appState, vals)
	if err != nil {
		return nil, err
	}
	for i, m := range members {
		m.cfg.P2P.ListenAddress = loopbackAddr(ports[i].P2P)
		if ports[i].Host != "" {
			m.cfg.P2P.ListenAddress = "tcp://0.0.0.0:" + strconv.Itoa(ports[i].P2P)
			m.cfg.P2P.ExternalAddress = "tcp://" + net.JoinHostPort(ports[i].Host, strconv.Itoa(ports[i].P2P))
		}
		m.cfg.RPC.ListenAddress = ""
		if ports[i].RPC != 0 {
			m.cfg.RPC.ListenAddress = loopbackAddr(ports[i].RPC)
		}
		m.cfg.P2P.PersistentPeers = peerList(members, ports, i)
		if err := gen.SaveAs(m.cfg.GenesisFile()); err != nil {
			return nil, err
		}
		if err := WriteConfig(m.cfg); err != nil {
			return nil, err
		}
	}
	return homes, nil
}

func loopbackAddr(port int) string { return "tcp://127.0.0.1:" + strconv.Itoa(port) }

// peerList is every member but self as id@host:port.
func peerList(members []*member, ports []NodePorts, self int) string {
	var peers []string
	for j, m := range members {
		if j != self {
			peers = append(peers, p2p.IDAddressString(m.nodeKey.ID(), net.JoinHostPort(ports[j].host(), strconv.Itoa(ports[j].P2P))))
		}
	}
	return strings.Join(peers, ",")
}

// FreePorts returns n distinct TCP ports free on 127.0.0.1 at the time of the
// call. Another process may take one before it is used: callers that can
// retry on "address already in use" should.
func FreePorts(n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("chainengine: free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Observe makes cfg's node an observer: a full node that follows and
// serves the chain but never signs a block or a vote, whatever the home's
// own validator key. It signs with a key of its own that no validator set
// holds (config/observer_key.json, made once).
func Observe(cfg *cmtcfg.Config) error {
	cfg.PrivValidatorKey = filepath.Join("config", "observer_key.json")
	cfg.PrivValidatorState = filepath.Join("data", "observer_state.json")
	if _, err := os.Stat(cfg.PrivValidatorKeyFile()); err == nil {
		return nil
	}
	pv, err := privval.GenFilePV(cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile(),
		func() (crypto.PrivKey, error) { return ed25519.GenPrivKey(), nil })
	if err != nil {
		return fmt.Errorf("chainengine: observer key: %w", err)
	}
	pv.Save()
	return nil
}

// NodeAddress is the node id of home's node and the p2p address its peers
// dial: its external address, else its listen address.
func NodeAddress(home string) (id, addr string, err error) {
	cfg, err := LoadConfig(home)
	if err != nil {
		return "", "", err
	}
	nk, err := p2p.LoadNodeKey(cfg.NodeKeyFile())
	if err != nil {
		return "", "", fmt.Errorf("chainengine: node key: %w", err)
	}
	addr = cfg.P2P.ExternalAddress
	if addr == "" {
		addr = cfg.P2P.ListenAddress
	}
	return string(nk.ID()), strings.TrimPrefix(addr, "tcp://"), nil
}
