// Package chaos is the consortium's fault test: each member's whole stack
// (ewr node --home) as its own OS process in its own network namespace,
// a seeded schedule of partitions, kill -9s, pauses and degraded links,
// clients on every member submitting conflicting work the whole time, and
// a checker that reads every member once the faults heal.
package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ewrchain/ewr/api"
	"github.com/ewrchain/ewr/api/apiclient"
	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/member"
	"github.com/ewrchain/ewr/receipt"
)

// Options of a run.
type Options struct {
	Members  int
	Duration time.Duration
	Seed     int64
	// Binary is the ewr executable each member runs.
	Binary string
	// Dir holds the members' homes; empty: a temporary directory, removed
	// after a run that passes.
	Dir string
	// Loopback runs the members on 127.0.0.1 without namespaces.
	Loopback bool
	// Log receives progress lines (nil: discarded).
	Log io.Writer
}

// Report is the run's outcome, printed as one JSON object.
type Report struct {
	Members            int     `json:"members"`
	Netns              bool    `json:"netns"`
	Netem              bool    `json:"netem"`
	Seed               int64   `json:"seed"`
	DurationS          float64 `json:"duration_s"`
	Partitions         int     `json:"partitions"`
	Kills              int     `json:"kills"`
	Pauses             int     `json:"pauses"`
	Degradations       int     `json:"degradations"`
	OpsSubmitted       int     `json:"ops_submitted"`
	OpsAcknowledged    int     `json:"ops_acknowledged"`
	OpsRefused         int     `json:"ops_refused"`
	OpsUnresolved      int     `json:"ops_unresolved"`
	OpsLost            int     `json:"ops_lost"`
	OpsAppliedTwice    int     `json:"ops_applied_twice"`
	DoublePledges      int     `json:"double_pledges"`
	AppHashDivergences int     `json:"app_hash_divergences"`
	FeedGaps           int     `json:"feed_gaps"`
	Linearizable       bool    `json:"linearizable"`
	MaxCatchUpS        float64 `json:"max_catch_up_s"`
	Height             int64   `json:"height"`
	Receipts           int     `json:"receipts"`
	// Story: before the faults, the demo's story ran across members (the
	// warehouse's issues, the trader's transfers and pledges, the bank's
	// confirms and verifies the position bundle against the genesis).
	Story    bool     `json:"story"`
	Cores    int      `json:"cores"`
	Failures []string `json:"failures,omitempty"`
	Replay   string   `json:"replay"`
	Dir      string   `json:"dir,omitempty"`
}

// OK reports whether the run found nothing wrong.
func (r *Report) OK() bool { return len(r.Failures) == 0 }

// proc is one member's process.
type proc struct {
	k       int
	home    string
	url     string
	nats    string
	tokens  map[string]string
	logFile *os.File

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

func (p *proc) client(participant string, timeout time.Duration) *apiclient.Client {
	c := apiclient.New(p.url, p.tokens[participant])
	c.HTTP = &http.Client{Timeout: timeout}
	return c
}

type runner struct {
	o       Options
	net     *Net // nil: loopback
	procs   []*proc
	chainID string
	start   time.Time
	rep     *Report
	log     func(format string, args ...any)
}

const chaosChainID = "ewr-chaos"

// Run runs the fault test.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Members < 4 {
		return nil, errors.New("chaos: at least 4 members (a 2/2 split needs them)")
	}
	if o.Binary == "" {
		return nil, errors.New("chaos: no ewr binary")
	}
	logw := o.Log
	if logw == nil {
		logw = io.Discard
	}
	r := &runner{o: o, chainID: chaosChainID, log: func(f string, a ...any) {
		fmt.Fprintf(logw, "chaos: "+f+"\n", a...)
	}}
	r.rep = &Report{Members: o.Members, Seed: o.Seed, Cores: runtime.NumCPU(),
		Replay: fmt.Sprintf("ewr chaos --members %d --duration %s --seed %d%s", o.Members, o.Duration, o.Seed, map[bool]string{true: " --loopback"}[o.Loopback])}
	temp := o.Dir == ""
	if temp {
		d, err := os.MkdirTemp("", "ewr-chaos-")
		if err != nil {
			return nil, err
		}
		r.o.Dir = d
	}
	if !o.Loopback {
		nt, err := SetupNet(o.Members, 1+int(uint64(o.Seed)%200)+os.Getpid()%50)
		if err != nil {
			r.log("no network namespaces (%v): members run on loopback", err)
		} else {
			r.net = nt
			defer nt.Close()
		}
	}
	r.rep.Netns = r.net != nil
	r.rep.Netem = r.net != nil && r.net.Netem()
	defer r.stopAll()
	if err := r.setup(ctx); err != nil {
		r.rep.Dir = r.o.Dir
		return r.rep, err
	}
	r.exercise(ctx)
	if r.rep.OK() && temp {
		_ = os.RemoveAll(r.o.Dir)
	} else {
		r.rep.Dir = r.o.Dir
	}
	return r.rep, nil
}

// setup writes the homes and starts every member.
func (r *runner) setup(ctx context.Context) error {
	w := ledger.NewWorld(ledger.DemoSeed, time.Now().Unix()+5*365*86400)
	appState, err := json.Marshal(&w.Genesis)
	if err != nil {
		return err
	}
	n := r.o.Members
	var homes []string
	apiAddr := make([]string, n)
	natsAddr := make([]string, n)
	if r.net != nil {
		hosts := make([]string, n)
		for k := range n {
			hosts[k] = r.net.Host(k)
			apiAddr[k] = net.JoinHostPort(hosts[k], "8080")
			natsAddr[k] = net.JoinHostPort(hosts[k], "4222")
		}
		homes, err = chainengine.GenerateTestnetOn(hosts, n, r.o.Dir, r.chainID, appState, 26656, 26657)
	} else {
		ports, perr := chainengine.FreePorts(2 * n)
		if perr != nil {
			return perr
		}
		for k := range n {
			apiAddr[k] = "127.0.0.1:" + strconv.Itoa(ports[2*k])
			natsAddr[k] = "127.0.0.1:" + strconv.Itoa(ports[2*k+1])
		}
		homes, err = chainengine.GenerateTestnet(n, r.o.Dir, r.chainID, appState, 0)
	}
	if err != nil {
		return err
	}
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
		c.API.Listen, c.NATS.Listen = apiAddr[k], natsAddr[k]
		// Every member acts for the traders and banks, so that the same
		// receipt is worked on from every side of a partition.
		c.API.Participants = []string{ledger.Operator, ledger.Inspector, ledger.TraderA, ledger.TraderB, ledger.BankA, ledger.BankB, ledger.Regulator}
		if err := member.WriteConfig(h, &c); err != nil {
			return err
		}
		lf, err := os.OpenFile(filepath.Join(h, "member.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		r.procs = append(r.procs, &proc{k: k, home: h, url: "http://" + apiAddr[k], nats: "nats://" + natsAddr[k], logFile: lf})
	}
	for _, p := range r.procs {
		if err := r.startProc(p); err != nil {
			return err
		}
	}
	for _, p := range r.procs {
		if err := r.waitReady(ctx, p, 3*time.Minute); err != nil {
			return err
		}
		entries, err := api.LoadParticipants(filepath.Join(p.home, "participants.json"))
		if err != nil {
			return err
		}
		p.tokens = map[string]string{}
		for _, e := range entries {
			p.tokens[e.ID] = e.Token
		}
	}
	r.log("%d members ready (netns %v, netem %v) in %s", n, r.rep.Netns, r.rep.Netem, r.o.Dir)
	return nil
}

// startProc starts member p's process: ewr node --demo --home, in its
// namespace.
func (r *runner) startProc(p *proc) error {
	args := []string{"node", "--demo", "--home", p.home}
	var cmd *exec.Cmd
	if r.net != nil {
		cmd = r.net.Command(p.k, r.o.Binary, args...)
	} else {
		cmd = exec.Command(r.o.Binary, args...)
	}
	return r.startCmd(p, cmd)
}

// startCmd starts cmd as member p's process, in its own process group.
func (r *runner) startCmd(p *proc, cmd *exec.Cmd) error {
	cmd.Stdout, cmd.Stderr = p.logFile, p.logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("chaos: start member %d: %w", p.k, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	return nil
}

// waitReady waits for member p's API to say ready.
func (r *runner) waitReady(ctx context.Context, p *proc, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	hc := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		p.mu.Lock()
		done := p.done
		p.mu.Unlock()
		select {
		case <-done:
			return fmt.Errorf("chaos: member %d exited while starting; its log: %s", p.k, tail(filepath.Join(p.home, "member.log")))
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if resp, err := hc.Get(p.url + "/readyz"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("chaos: member %d not ready after %s; its log: %s", p.k, timeout, tail(filepath.Join(p.home, "member.log")))
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(bytes.TrimSpace(b))
}

// signal sends sig to member p's process group.
func (p *proc) signal(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && p.cmd.Process != nil {
		_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	}
}

// kill9 kills member p at once and waits for it to be gone.
func (p *proc) kill9() {
	p.signal(syscall.SIGKILL)
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	<-done
}

// stopAll stops every member: SIGTERM, then SIGKILL.
func (r *runner) stopAll() {
	for _, p := range r.procs {
		p.signal(syscall.SIGCONT)
		p.signal(syscall.SIGTERM)
	}
	for _, p := range r.procs {
		p.mu.Lock()
		done := p.done
		p.mu.Unlock()
		if done == nil {
			continue
		}
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			p.kill9()
		}
		_ = p.logFile.Close()
	}
}

// exercise issues the receipts, runs the clients and the faults, heals,
// and checks.
func (r *runner) exercise(ctx context.Context) {
	hist := &history{}
	pl := &pool{}
	r.start = time.Now()
	if err := r.issue(ctx, hist, pl); err != nil {
		r.rep.Failures = append(r.rep.Failures, "setup: "+err.Error())
		return
	}
	wctx, cancel := context.WithTimeout(ctx, r.o.Duration)
	var wg sync.WaitGroup
	for k, p := range r.procs {
		for j := range 2 {
			c := &client{id: 2*k + j, m: p, rng: rand.New(rand.NewSource(r.o.Seed*1000 + int64(2*k+j))), chainID: r.chainID,
				start: r.start, hist: hist, pool: pl}
			wg.Add(1)
			go func() { defer wg.Done(); c.run(wctx) }()
		}
	}
	r.faults(wctx)
	cancel()
	wg.Wait()
	r.log("faults over: healing and checking")
	r.heal(ctx)
	r.check(ctx, hist)
	r.rep.DurationS = time.Since(r.start).Seconds()
}

// issue registers a lot at member 0 and issues the starting receipts, as
// create ops of the history.
func (r *runner) issue(ctx context.Context, hist *history, pl *pool) error {
	w := ledger.NewWorld(ledger.DemoSeed, 0)
	const workload = 8 // CR-0..CR-7; CR-8 is the story's
	err := issueReceipts(ctx, r.driver(0), w, workload+1, func(id, holder string) {
		if id == fmt.Sprintf("CR-%d", workload) {
			return
		}
		now := time.Since(r.start).Nanoseconds()
		hist.add(&opRecord{Client: -1, In: mInput{Kind: kCreate, Receipt: id, V: 1, Actor: holder}, Call: now, Ret: now, Out: outApplied})
		pl.add(id)
	})
	if err != nil {
		return err
	}
	if err := r.story(ctx, fmt.Sprintf("CR-%d", workload)); err != nil {
		return fmt.Errorf("the story across members: %w", err)
	}
	r.rep.Story = true
	return nil
}

// driver acts through member k's API.
func (r *runner) driver(k int) *apiclient.Driver {
	p := r.procs[k]
	return &apiclient.Driver{Client: apiclient.New(p.url, ""), Tokens: p.tokens, Reader: ledger.Regulator}
}

// story is the demo's story across members, before the faults: the
// warehouse's member issued the receipt (issue); the trader's member
// (member 1) transfers it and the transferee pledges it; the bank's member
// (member 2) confirms the pledge and verifies the receipt's position
// bundle against the genesis, offline.
func (r *runner) story(ctx context.Context, id string) error {
	trader, bank := r.driver(1), r.driver(2)
	var rc *receipt.Receipt
	var err error
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if rc, err = trader.Receipt(ctx, id); err == nil {
			break // the trader's member has the warehouse's block
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the trader's member never saw %s: %w", id, err)
		}
	}
	if err := trader.Submit(ctx, []string{rc.Holder}, &receipt.InitiateTransfer{Receipt: id, Version: rc.Version, To: ledger.TraderB,
		Deadline: time.Now().Unix() + 86400}); err != nil {
		return fmt.Errorf("transfer: %w", err)
	}
	if err := trader.Submit(ctx, []string{ledger.TraderB}, &receipt.AcceptTransfer{Receipt: id, Version: rc.Version + 1}); err != nil {
		return fmt.Errorf("accept: %w", err)
	}
	if err := trader.Submit(ctx, []string{ledger.TraderB}, &receipt.RequestPledge{Pledge: "PL-STORY", Receipt: id, Version: rc.Version + 2,
		Bank: ledger.BankA, Maturity: time.Now().Unix() + 90*86400}); err != nil {
		return fmt.Errorf("pledge: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		rb, err := bank.Receipt(ctx, id)
		if err == nil && rb.State == receipt.StatePledgePending {
			if err := bank.Submit(ctx, []string{ledger.BankA}, &receipt.ConfirmPledge{Pledge: "PL-STORY", ReceiptVersion: rb.Version}); err != nil {
				return fmt.Errorf("confirm: %w", err)
			}
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the bank's member never saw the pledge request (%v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var b chainengine.ProofBundle
	if err := bank.Client.As(bank.Tokens[ledger.BankA]).Get(ctx, "/v1/receipts/"+id+"/position-proof", &b); err != nil {
		return fmt.Errorf("position proof: %w", err)
	}
	trusted, chainID, err := chainengine.TrustedValidators(filepath.Join(r.procs[0].home, "config", "genesis.json"))
	if err != nil {
		return err
	}
	dec, err := b.Verify(trusted, chainID)
	if err != nil {
		return fmt.Errorf("the bank's check of the position bundle: %w", err)
	}
	var proven receipt.Receipt
	if err := receipt.DecodeRecord(dec.Value, &proven); err != nil {
		return err
	}
	if proven.State != receipt.StatePledged || proven.Holder != ledger.TraderB || proven.Pledge != "PL-STORY" {
		return fmt.Errorf("the proven receipt is %s, held by %s, pledge %q", proven.State, proven.Holder, proven.Pledge)
	}
	r.log("story: %s issued at member 0, transferred and pledged at member 1, confirmed and verified at member 2 (height %d)", id, dec.StateHeight)
	return nil
}

// heal ends every fault, and measures how long each member takes to reach
// the height the others had.
func (r *runner) heal(ctx context.Context) {
	if r.net != nil {
		_ = r.net.Heal()
	}
	for _, p := range r.procs {
		p.signal(syscall.SIGCONT)
	}
	for _, p := range r.procs {
		p.mu.Lock()
		done := p.done
		p.mu.Unlock()
		select {
		case <-done: // killed and not yet back
			if err := r.startProc(p); err == nil {
				_ = r.waitReady(ctx, p, 2*time.Minute)
			}
		default:
		}
	}
	r.catchUp(ctx, time.Now())
}

// catchUp waits until every member is at the highest height any had when
// it is called, and records the longest time since since (a heal, a
// restart) that took.
func (r *runner) catchUp(ctx context.Context, since time.Time) {
	top := int64(1)
	for _, p := range r.procs {
		top = max(top, r.height(ctx, p))
	}
	for _, p := range r.procs {
		deadline := time.Now().Add(2 * time.Minute)
		for r.height(ctx, p) < top && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(100 * time.Millisecond)
		}
		r.rep.MaxCatchUpS = max(r.rep.MaxCatchUpS, time.Since(since).Seconds())
	}
}

func (r *runner) height(ctx context.Context, p *proc) int64 {
	var h api.Health
	if err := p.client(ledger.Regulator, 2*time.Second).Get(ctx, "/healthz", &h); err != nil {
		r.log("member %d: height: %v", p.k, err)
		return -1
	}
	return h.Height
}

// faults runs the seeded schedule until ctx ends: every kind of fault at
// least once (in a seeded order), then seeded picks; each fault lasts a
// few seconds and is followed by a calm.
func (r *runner) faults(ctx context.Context) {
	rng := rand.New(rand.NewSource(r.o.Seed))
	kinds := []string{"isolate", "split", "kill", "pause", "degrade"}
	rng.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	sleep := func(d time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}
	if !sleep(2 * time.Second) {
		return
	}
	for i := 0; ctx.Err() == nil; i++ {
		kind := kinds[rng.Intn(len(kinds))]
		if i < len(kinds) {
			kind = kinds[i]
		}
		hold := time.Duration(3000+rng.Intn(3000)) * time.Millisecond
		k := rng.Intn(len(r.procs))
		switch kind {
		case "isolate", "split":
			if r.net == nil {
				continue // no namespaces: no partitions
			}
			var a, b []int
			if kind == "isolate" {
				a = []int{k}
				for j := range r.procs {
					if j != k {
						b = append(b, j)
					}
				}
			} else {
				perm := rng.Perm(len(r.procs))
				a, b = perm[:len(perm)/2], perm[len(perm)/2:]
			}
			r.log("partition %v | %v for %s", a, b, hold)
			if err := r.net.Cut(a, b); err != nil {
				r.rep.Failures = append(r.rep.Failures, "partition: "+err.Error())
			}
			r.rep.Partitions++
			sleep(hold)
			_ = r.net.Heal()
		case "kill":
			p := r.procs[k]
			r.log("kill -9 member %d", k)
			p.kill9()
			r.rep.Kills++
			sleep(hold / 2)
			if err := r.startProc(p); err != nil {
				r.rep.Failures = append(r.rep.Failures, err.Error())
				continue
			}
			began := time.Now()
			if err := r.waitReady(context.Background(), p, 2*time.Minute); err != nil {
				r.rep.Failures = append(r.rep.Failures, "restart after kill -9: "+err.Error())
				continue
			}
			r.log("member %d back after %s", k, time.Since(began).Round(time.Millisecond))
			r.catchUp(context.Background(), began) // past the window too: it is the restart's figure
		case "pause":
			p := r.procs[k]
			r.log("SIGSTOP member %d for %s", k, hold)
			p.signal(syscall.SIGSTOP)
			r.rep.Pauses++
			sleep(hold)
			p.signal(syscall.SIGCONT)
		case "degrade":
			if r.net == nil {
				continue
			}
			r.log("degrade member %d's link for %s", k, hold)
			if err := r.net.Degrade(k, 40, 5); err != nil {
				r.rep.Failures = append(r.rep.Failures, "degrade: "+err.Error())
			}
			r.rep.Degradations++
			sleep(hold)
			_ = r.net.Heal()
		}
		sleep(time.Duration(1500+rng.Intn(1500)) * time.Millisecond)
	}
}

// failf records a failure.
func (r *runner) failf(format string, args ...any) {
	if len(r.rep.Failures) < 50 {
		r.rep.Failures = append(r.rep.Failures, fmt.Sprintf(format, args...))
	}
}

// Summary is a one-line account of a report.
func (r *Report) Summary() string {
	if r.OK() {
		return fmt.Sprintf("chaos: passed: %d acknowledged, %d refused, %d unresolved; %d partitions, %d kills, %d pauses",
			r.OpsAcknowledged, r.OpsRefused, r.OpsUnresolved, r.Partitions, r.Kills, r.Pauses)
	}
	return "chaos: FAILED (seed " + strconv.FormatInt(r.Seed, 10) + "): " + strings.Join(r.Failures, "; ") + "\nreplay: " + r.Replay
}
