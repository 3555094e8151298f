package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/receipt"
)

// submitTimeout bounds one submission: a block holding it should commit
// within a few seconds; past this the finding is retried from the rules.
const submitTimeout = 30 * time.Second

// submitLoop sends findings to the chain, one at a time per worker.
func (s *Supervisor) submitLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case f := <-s.queue:
			ok := s.submit(ctx, &f)
			select {
			case s.settled <- settlement{lot: f.Lot, ok: ok}:
			case <-ctx.Done():
				return
			}
		}
	}
}

// done are the refusals that mean the chain already did what a finding
// asks: another supervisor, or this one before a restart, got there first.
var done = []*receipt.Error{iot.ErrLotInAlarm, iot.ErrLotUnverified, iot.ErrLotHealthy, iot.ErrBaselineSet, iot.ErrAnchorOverlap}

func alreadyDone(err error) bool {
	for _, e := range done {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// submit dry-runs the finding's op against the committed state (the
// validators' own rules: a tx they would refuse is not sent) and submits
// it. It reports whether the chain has what the finding asks for.
func (s *Supervisor) submit(ctx context.Context, f *iot.Finding) bool {
	op := f.Op()
	log := s.cfg.Logger.With("warehouse", s.cfg.Warehouse, "lot", f.Lot, "finding", f.Name())
	if log.Enabled(context.Background(), slog.LevelDebug) {
		log.Debug("iot supervisor: finding", "evidence", evidenceSummary(f.Evidence))
	}
	if err := s.dryRun(op); err != nil {
		if alreadyDone(err) {
			return true
		}
		s.metrics.Suppressed.Add(1)
		s.metrics.addRefused(reason(err))
		log.Info("iot supervisor: finding not sent; the chain would refuse it", "err", err)
		return false
	}
	s.metrics.TxSubmitted.Add(1)
	sctx, cancel := context.WithTimeout(ctx, submitTimeout)
	defer cancel()
	_, h, err := s.cfg.Submitter.Submit(sctx, []string{s.cfg.Signer}, op)
	switch {
	case err == nil:
		s.metrics.TxApplied.Add(1)
		log.Info("iot supervisor: finding committed", "height", h)
		return true
	case alreadyDone(err):
		s.metrics.TxRefused.Add(1)
		return true
	case isRule(err):
		s.metrics.TxRefused.Add(1)
		s.metrics.addRefused(reason(err))
		log.Warn("iot supervisor: chain refused finding", "err", err)
		return false
	default:
		s.metrics.TxFailed.Add(1)
		if ctx.Err() == nil {
			log.Warn("iot supervisor: submit failed", "err", err)
		}
		return false
	}
}

// evidenceSummary names each evidence reading with what it says, for logs.
func evidenceSummary(ev []iot.SignedReading) []string {
	out := make([]string, len(ev))
	for i := range ev {
		r := &ev[i].Reading
		out[i] = r.ID() + "@" + strconv.FormatInt(r.TimeMs, 10)
		if r.Weight != nil {
			out[i] += fmt.Sprintf(" %d %s stable=%v", r.Weight.Qty, r.Weight.Unit, r.Weight.Stable)
		}
	}
	return out
}

func isRule(err error) bool {
	_, ok := receipt.AsError(err)
	return ok
}

// dryRun asks the chain what the next block would say of op (block time:
// the supervisor's clock, or the last block's if later).
func (s *Supervisor) dryRun(op receipt.Op) error {
	return s.cfg.Chain.DryRun([]string{s.cfg.Signer}, op, s.cfg.Clock().Unix())
}
