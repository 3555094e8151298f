package api

import (
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Per-participant limits: what one token may hold of the node's shared
// resources, so that one participant cannot take them all from the others.
// Each answers its own 429 problem.
const (
	// DefaultStreamsPerParticipant bounds one participant's open event
	// streams (the node's total is Config.MaxStreams).
	DefaultStreamsPerParticipant = 16
	// DefaultDraftsPerParticipant bounds the drafts one participant has
	// started that still await signatures (the node's total is maxDrafts).
	DefaultDraftsPerParticipant = 200
	// DefaultRatePerS and DefaultRateBurst are each token's bucket.
	DefaultRatePerS  = 500
	DefaultRateBurst = 1000
)

// limits holds each participant's streams and request bucket.
type limits struct {
	streamsEach int
	perS        float64 // < 0: no rate limit
	burst       int

	mu      sync.Mutex
	streams map[string]int
	buckets map[string]*rate.Limiter
}

func newLimits(cfg Config) *limits {
	l := &limits{streamsEach: cfg.StreamsPerParticipant, perS: cfg.RatePerS, burst: cfg.RateBurst,
		streams: map[string]int{}, buckets: map[string]*rate.Limiter{}}
	if l.streamsEach <= 0 {
		l.streamsEach = DefaultStreamsPerParticipant
	}
	if l.perS == 0 {
		l.perS = DefaultRatePerS
	}
	if l.burst <= 0 {
		l.burst = DefaultRateBurst
	}
	return l
}

// allow takes one request from who's bucket; when it is empty it returns
// the problem, with how long until the next request would be allowed.
func (l *limits) allow(who string) (time.Duration, bool) {
	if l.perS < 0 || who == "" {
		return 0, true
	}
	l.mu.Lock()
	b, ok := l.buckets[who]
	if !ok {
		b = rate.NewLimiter(rate.Limit(l.perS), l.burst)
		l.buckets[who] = b
	}
	l.mu.Unlock()
	r := b.Reserve()
	if d := r.Delay(); d > 0 {
		r.Cancel()
		return d, false
	}
	return 0, true
}

// openStream counts one more stream of who, if it may open one.
func (l *limits) openStream(who string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.streams[who] >= l.streamsEach {
		return false
	}
	l.streams[who]++
	return true
}

func (l *limits) closeStream(who string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.streams[who]--; l.streams[who] <= 0 {
		delete(l.streams, who)
	}
}

// rateLimited is the 429 of an empty bucket, with Retry-After.
func (rc *reqCtx) rateLimited(wait time.Duration) error {
	rc.c.Set("Retry-After", strconv.Itoa(max(1, int((wait+time.Second-1)/time.Second))))
	return failf(PRateLimited, "%s: at most %.0f requests/s (bursts of %d); retry in %v", rc.who, rc.s.lim.perS, rc.s.lim.burst, wait.Round(time.Millisecond))
}
