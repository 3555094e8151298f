package supervisor

import (
	"crypto/ed25519"
	"fmt"
	"testing"

	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/ledger"
	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// signedJobs makes n signature jobs over 13 device keys; the ones at the
// indexes in bad carry a forger's signature.
func signedJobs(t testing.TB, n int, bad ...int) []sigJob {
	w := ledger.NewWorld("verify", 2_000_000_000)
	var keys []ed25519.PrivateKey
	var exp []*voi.ExpandedPublicKey
	for _, id := range []string{"WH-SH-01-LC-01", "WH-SH-01-LC-02", "WH-SH-01-LC-03", "WH-SH-01-LC-04", "WH-SH-01-CAM-01", "WH-SH-01-CAM-02",
		"WH-SH-01-CAM-03", "WH-SH-01-CAM-04", "WH-SH-01-SEAL-01", "WH-SH-01-SEAL-02", "WH-SH-01-SEAL-03", "WH-SH-01-SEAL-04", "WB-SH-01"} {
		d := w.Devices[id]
		keys = append(keys, d.Key)
		e, err := voi.NewExpandedPublicKey(voi.PublicKey(d.Device.PubKey[:]))
		require.NoError(t, err)
		exp = append(exp, e)
	}
	isBad := map[int]bool{}
	for _, i := range bad {
		isBad[i] = true
	}
	jobs := make([]sigJob, n)
	for i := range jobs {
		k := i % len(keys)
		r := iot.Reading{Event: "e", Device: "d", Epoch: 1, Seq: uint64(i + 1), TimeMs: 1, Weight: &iot.BayWeight{Qty: uint64(i), Unit: "kg", Stable: true}}
		key := keys[k]
		if isBad[i] {
			key = ledger.DemoKey("forger", fmt.Sprint(i))
		}
		s := iot.Sign(r, key)
		jobs[i] = sigJob{key: exp[k], msg: iot.SignBytes(&r), sig: s.Sig[:]}
	}
	return jobs
}

func TestVerifyJobsFindsEachForgery(t *testing.T) {
	for _, n := range []int{1, 2, 63, 64, 65, 500} {
		bad := []int{0, n / 2, n - 1}
		jobs := signedJobs(t, n, bad...)
		verifyJobs(jobs, 2)
		for i, j := range jobs {
			want := i != 0 && i != n/2 && i != n-1
			assert.Equal(t, want, j.ok, "n=%d job %d", n, i)
		}
	}
}

func TestSeqSetForgetsTheOldest(t *testing.T) {
	s := newSeqSet(3)
	for i := uint64(1); i <= 4; i++ {
		s.add(i)
	}
	s.add(4)
	assert.False(t, s.has(1))
	assert.True(t, s.has(2) && s.has(3) && s.has(4))
}

// BenchmarkVerifyJobs is the signature side of the supervisor's rate:
// readings verified per second on all cores, in chunks of verifyChunk.
func BenchmarkVerifyJobs(b *testing.B) {
	jobs := signedJobs(b, 1024)
	b.ResetTimer()
	for range b.N {
		verifyJobs(jobs, defaultWorkers())
	}
	b.ReportMetric(float64(b.N*len(jobs))/b.Elapsed().Seconds(), "sigs/s")
}
