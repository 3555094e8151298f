package supervisor

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cometbft/cometbft/libs/log"
	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/internal/testkit"
	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/iot/bus"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/simulators"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// The end-to-end tests share one network: a 4-validator receipt localnet
// on loopback and an embedded NATS server, with the demo consortium whose
// warehouse 1 has eight bays, each with a bay scale, a camera and a door
// seal. Tests run in order; each sets the rules it needs.

// env is the shared network.
type env struct {
	ln      *chainengine.Localnet
	w       *ledger.World
	ns      *bus.Server
	js      jetstream.JetStream
	clients []*chainengine.Client
	dir     string

	simMu sync.Mutex
	sim2  *simulators.Running // warehouse 2's devices, shared by the delivery tests
}

// Warehouse3 is a warehouse of the tests alone (two bays), for the noise run
// on a simulated clock.
const (
	Warehouse3   = "WH-TJ-01"
	Weighbridge3 = "WB-TJ-01"
)

var (
	shared    *env
	sharedErr error
	sharedMu  sync.Mutex
)

// e2eBays are warehouse 1's bays in the tests: the demo's four and four more.
var e2eBays = []string{"BAY-01", "BAY-02", "BAY-03", "BAY-04", "BAY-05", "BAY-06", "BAY-07", "BAY-08"}

func TestMain(m *testing.M) {
	code := m.Run()
	sharedMu.Lock()
	if shared != nil {
		shared.stop()
	}
	sharedMu.Unlock()
	os.Exit(code)
}

// network returns the shared network, starting it on first use.
func network(t *testing.T) *env {
	t.Helper()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared == nil && sharedErr == nil {
		shared, sharedErr = startEnv()
	}
	require.NoError(t, sharedErr)
	return shared
}

func startEnv() (*env, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir, err := os.MkdirTemp("", "ewr-iot-e2e-")
	if err != nil {
		return nil, err
	}
	e := &env{dir: dir}
	w := ledger.NewWorld("iot-e2e", time.Now().Unix()+365*86400)
	// Four more bays in warehouse 1, with their devices.
	for i, b := range e2eBays[len(ledger.DemoBays):] {
		n := len(ledger.DemoBays) + i + 1
		w.Genesis.Bays = append(w.Genesis.Bays, warehouse.Bay{Warehouse: ledger.Warehouse1, ID: b})
		for _, k := range []struct {
			kind string
			typ  warehouse.DeviceType
		}{{"LC", warehouse.BayScale}, {"CAM", warehouse.Camera}, {"SEAL", warehouse.DoorSeal}} {
			addDevice(w, fmt.Sprintf("%s-%s-%02d", ledger.Warehouse1, k.kind, n), k.typ, ledger.Warehouse1, b)
		}
	}
	w.Genesis.Warehouses = append(w.Genesis.Warehouses, warehouse.Warehouse{ID: Warehouse3, Name: "Tianjin Port Store",
		Location: "Tianjin", Operator: ledger.Operator2, CollateralManager: ledger.Inspector2})
	addDevice(w, Weighbridge3, warehouse.Weighbridge, Warehouse3, "")
	for i, b := range []string{"BAY-01", "BAY-02"} {
		w.Genesis.Bays = append(w.Genesis.Bays, warehouse.Bay{Warehouse: Warehouse3, ID: b})
		for _, k := range []struct {
			kind string
			typ  warehouse.DeviceType
		}{{"LC", warehouse.BayScale}, {"CAM", warehouse.Camera}, {"SEAL", warehouse.DoorSeal}} {
			addDevice(w, fmt.Sprintf("%s-%s-%02d", Warehouse3, k.kind, i+1), k.typ, Warehouse3, b)
		}
	}
	e.w = w
	appState, err := json.Marshal(&w.Genesis)
	if err != nil {
		return nil, err
	}
	logger := log.NewNopLogger()
	factory := func(home string, _ int) (chainengine.App, error) {
		return chainengine.NewReceiptApp(chainengine.ReceiptAppDir(home), logger)
	}
	e.ln, err = chainengine.StartLocalnet(ctx, dir+"/chain", 4, factory, chainengine.LocalnetOptions{AppState: appState, Logger: logger})
	if err != nil {
		return nil, err
	}
	keys := func(id string) (ed25519.PrivateKey, bool) {
		a, ok := w.Actors[id]
		if !ok {
			return nil, false
		}
		return a.Key, true
	}
	for i := range 4 {
		e.clients = append(e.clients, &chainengine.Client{Node: e.ln.Node(i), Keys: keys})
	}
	e.ns, err = bus.StartEmbedded(bus.Options{StoreDir: dir + "/nats", Port: bus.RandomPort})
	if err != nil {
		e.stop()
		return nil, err
	}
	nc, err := e.ns.Connect(ctx)
	if err != nil {
		e.stop()
		return nil, err
	}
	if e.js, err = bus.JetStream(nc); err != nil {
		e.stop()
		return nil, err
	}
	if err := bus.EnsureStreams(ctx, e.js, bus.StreamOptions{}); err != nil {
		e.stop()
		return nil, err
	}
	return e, nil
}

// addDevice registers a device with a demo key in the world's genesis.
func addDevice(w *ledger.World, id string, typ warehouse.DeviceType, wh, bay string) {
	k := ledger.DemoKey("iot-e2e", "device/"+id)
	d := warehouse.Device{ID: id, Type: typ, Warehouse: wh, Bay: bay, CalibratedUntil: w.Genesis.Devices[0].CalibratedUntil}
	copy(d.PubKey[:], k.Public().(ed25519.PublicKey))
	w.Devices[id] = &ledger.DeviceKey{Device: d, Key: k}
	w.Genesis.Devices = append(w.Genesis.Devices, d)
}

func (e *env) stop() {
	if e.sim2 != nil {
		_ = e.sim2.Stop()
	}
	if e.ns != nil {
		e.ns.Shutdown()
	}
	if e.ln != nil {
		_ = e.ln.Stop()
	}
	_ = os.RemoveAll(e.dir)
}

func (e *env) app(i int) *chainengine.ReceiptApp { return e.ln.Node(i).App().(*chainengine.ReceiptApp) }

// submit signs op as signers and waits for its commit through node 0.
func (e *env) submit(ctx context.Context, signers []string, op receipt.Op) error {
	_, _, err := e.clients[0].Submit(ctx, signers, op)
	return err
}

func (e *env) lot(id string) *warehouse.Lot {
	st, _ := e.app(0).State()
	l, _ := ledger.Get[warehouse.Lot](st, warehouse.LotKey(id))
	return l
}

func (e *env) receipt(id string) *receipt.Receipt {
	st, _ := e.app(0).State()
	r, _ := ledger.Get[receipt.Receipt](st, receipt.ReceiptKey(id))
	return r
}

func (e *env) watch(lot string) *iot.Watch {
	st, _ := e.app(0).State()
	return iot.LoadWatch(&receipt.Exec{Store: st}, lot)
}

// setRules makes the chain's rules r (if they differ).
func (e *env) setRules(t *testing.T, ctx context.Context, r iot.Rules) {
	t.Helper()
	st, _ := e.app(0).State()
	cur := *iot.LoadRules(&receipt.Exec{Store: st})
	r.Version = cur.Version
	if cur == r {
		return
	}
	require.NoError(t, e.submit(ctx, []string{ledger.Admin1, ledger.Admin2}, &iot.SetRules{Rules: r}))
}

// fastRules are the rules on a test clock: heartbeats every second, so a
// device is offline after 6 s; drift held for 4 s.
func fastRules() iot.Rules {
	r := iot.DefaultRules()
	r.OfflineAfterMs = 6_000
	r.DriftSustainMs = 4_000
	return r
}

// fastDevices beat and report fast enough for fastRules.
var fastDevices = simulators.DeviceConfig{
	ReportMin: time.Second, ReportMax: 2 * time.Second, SampleHz: 5, SettleTime: 300 * time.Millisecond,
	HeartbeatMin: 500 * time.Millisecond, HeartbeatMax: time.Second, CameraNoiseEvery: -1,
}

// stockLot registers a lot of about netKg in a bay of wh from weighbridge
// tickets and issues receipts of the given quantities on it, to TraderA.
// Where warehouse 2's simulated devices already run, the goods are weighed
// in and stacked by them first (a truck carrying 100 kg more than netKg, so
// its ticket covers the receipts), as a warehouse does before it locks a
// lot; elsewhere the devices find the goods on the bay when they start.
func (e *env) stockLot(t *testing.T, ctx context.Context, wh, bay, lot string, netKg uint64, receipts ...uint64) []string {
	t.Helper()
	wb, op, cm := ledger.Weighbridge1, ledger.Operator, ledger.Inspector
	switch wh {
	case ledger.Warehouse2:
		wb, op, cm = ledger.Weighbridge2, ledger.Operator2, ledger.Inspector2
	case Warehouse3:
		wb, op, cm = Weighbridge3, ledger.Operator2, ledger.Inspector2
	}
	now := time.Now().Unix()
	stock := &warehouse.RegisterStock{Lot: lot, Warehouse: wh, Bay: bay, Commodity: "copper cathode", Grade: "LME Grade A",
		Unit: "kg", Tolerance: 300,
		Tickets: []warehouse.SignedTicket{e.w.Ticket(wb, "T-"+lot, warehouse.In, netKg+15_000, 15_000, "", now)}}
	e.simMu.Lock()
	sim := e.sim2
	e.simMu.Unlock()
	if wh == ledger.Warehouse2 && sim != nil {
		in, err := sim.Intake(bay, netKg+100)
		require.NoError(t, err)
		stock.Tickets = in
	}
	require.NoError(t, e.submit(ctx, []string{op, cm}, stock))
	var ids []string
	for i, q := range receipts {
		id := fmt.Sprintf("%s-R%d", lot, i+1)
		require.NoError(t, e.submit(ctx, []string{op}, &warehouse.IssueReceipt{
			ID: id, Lot: lot, Depositor: ledger.TraderA, Negotiable: true, Quantity: q, Description: "copper cathode",
			PlaceOfIssue: "Qingdao", StorageUntil: now + 365*86400, ValidUntil: now + 180*86400, StorageAgreementDate: now - 86400,
			StorageTermsRef: "QBMW-ST-2026-01", ThirdPartyClaims: "none known", Fees: receipt.FeeTerms{Currency: "CNY", MinorPerTonnePerDay: 150},
		}))
		ids = append(ids, id)
	}
	return ids
}

// startSupervisor runs a supervisor for wh through node i, signed by the
// warehouse's collateral manager; it is stopped when the test ends.
func (e *env) startSupervisor(t *testing.T, ctx context.Context, wh string, node int, mutate func(*Config)) *Supervisor {
	t.Helper()
	cm := ledger.Inspector
	if wh != ledger.Warehouse1 {
		cm = ledger.Inspector2
	}
	cfg := Config{Warehouse: wh, Signer: cm, Chain: e.app(node), Submitter: e.clients[node], JetStream: e.js,
		TickInterval: 100 * time.Millisecond, RetryAfter: 3 * time.Second, Anchor: AnchorConfig{Disabled: true},
		Logger: testLogger(t)}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := Start(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Stop()) })
	return s
}

// warehouse2 returns warehouse 2's simulated devices, running on the wall
// clock, following the chain, started on first use.
func (e *env) warehouse2(t *testing.T) *simulators.Running {
	t.Helper()
	e.simMu.Lock()
	defer e.simMu.Unlock()
	if e.sim2 == nil {
		r, err := simulators.StartWarehouse(context.Background(), simulators.WarehouseConfig{World: e.w, Warehouse: ledger.Warehouse2,
			JetStream: e.js, Devices: fastDevices, Chain: e.app(0), Interval: 100 * time.Millisecond, Seed: 2})
		require.NoError(t, err)
		e.sim2 = r
	}
	return e.sim2
}

// testLogger logs to the test at warn and above (EWR_TEST_LOG=debug for all).
func testLogger(t *testing.T) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("EWR_TEST_LOG") == "debug" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// lotIs checks a lot's health on node 0.
func (e *env) lotIs(lot string, h warehouse.Health) func() error {
	return func() error {
		l := e.lot(lot)
		if l == nil {
			return fmt.Errorf("lot %s not found", lot)
		}
		if l.Health != h {
			return fmt.Errorf("lot %s is %s (alert %q), want %s", lot, l.Health, l.Alert, h)
		}
		return nil
	}
}

// baselined waits until the supervisor set the lot's baseline.
func (e *env) baselined(t *testing.T, lot string) {
	t.Helper()
	testkit.Poll(t, 20*time.Second, "baseline of "+lot, func() error {
		l := e.lot(lot)
		switch {
		case l == nil:
			return fmt.Errorf("no lot")
		case l.Health == warehouse.HealthAlarm:
			st, _ := e.app(0).State()
			a, _ := ledger.Get[iot.Alert](st, iot.AlertKey(l.Alert))
			return fmt.Errorf("in alarm before its baseline: expected %d: %+v", l.Expected, a)
		case l.Baseline == 0:
			return fmt.Errorf("no baseline yet (expected %d)", l.Expected)
		}
		return nil
	})
}

// agree checks every node has the same block records (app hash included)
// up to node 0's height.
func (e *env) agree(t *testing.T) {
	t.Helper()
	top := e.app(0).Height()
	testkit.Poll(t, 30*time.Second, "nodes catch up", func() error {
		for i := range 4 {
			if h := e.app(i).Height(); h < top {
				return fmt.Errorf("node %d at %d, want %d", i, h, top)
			}
		}
		return nil
	})
	for h := int64(1); h <= top; h++ {
		b0, ok, err := e.app(0).Block(h)
		require.NoError(t, err)
		require.True(t, ok)
		for i := 1; i < 4; i++ {
			bi, ok, err := e.app(i).Block(h)
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, ledger.EncodeBlockRecord(b0), ledger.EncodeBlockRecord(bi), "node %d disagrees at height %d", i, h)
		}
	}
	for i := range 4 {
		st, _ := e.app(i).State()
		require.NoError(t, ledger.CheckInvariants(st.(ledger.Ranger)), "node %d", i)
	}
}
