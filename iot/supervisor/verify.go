package supervisor

import (
	"runtime"
	"sync"
	"sync/atomic"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// verifyOpts are the validators' (chainengine): RFC 8032 with cofactored
// verification, for single and batch checks alike, so the supervisor and
// the chain accept exactly the same signatures.
var verifyOpts = &voi.Options{Verify: voi.VerifyOptionsFIPS_186_5}

// sigJob is one signature to check.
type sigJob struct {
	key *voi.ExpandedPublicKey
	msg []byte
	sig []byte
	ok  bool
}

// verifyChunk is how many signatures one batch verification covers. A bad
// signature makes voi re-check its whole batch one by one, so a chunk is
// small enough that a forged reading costs little, large enough that the
// batch equation's savings (about half the per-signature cost) hold.
const verifyChunk = 64

// verifyJobs checks every job's signature, in chunks spread over up to
// workers goroutines, and sets ok.
func verifyJobs(jobs []sigJob, workers int) {
	if len(jobs) == 0 {
		return
	}
	chunks := (len(jobs) + verifyChunk - 1) / verifyChunk
	workers = max(1, min(workers, chunks))
	if workers == 1 {
		for lo := 0; lo < len(jobs); lo += verifyChunk {
			verifyBatch(jobs[lo:min(lo+verifyChunk, len(jobs))])
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c := int(next.Add(1) - 1)
				if c >= chunks {
					return
				}
				lo := c * verifyChunk
				verifyBatch(jobs[lo:min(lo+verifyChunk, len(jobs))])
			}
		}()
	}
	wg.Wait()
}

func verifyBatch(jobs []sigJob) {
	if len(jobs) == 1 {
		j := &jobs[0]
		j.ok = voi.VerifyExpandedWithOptions(j.key, j.msg, j.sig, verifyOpts)
		return
	}
	bv := voi.NewBatchVerifierWithCapacity(len(jobs))
	for i := range jobs {
		bv.AddExpandedWithOptions(jobs[i].key, jobs[i].msg, jobs[i].sig, verifyOpts)
	}
	_, oks := bv.Verify(nil) // oks is filled whether or not all are valid
	for i := range jobs {
		jobs[i].ok = oks[i]
	}
}

// defaultWorkers is one verifier per core.
func defaultWorkers() int { return runtime.GOMAXPROCS(0) }
